#include "knox_aead.h"

// BoringSSL as swift-crypto links it into every binary that uses Crypto: its symbols carry the CCryptoBoringSSL_
// prefix (swift-crypto's vendoring), and its headers are not a product we can import, so the few functions used here
// are declared as aead.h declares them.
typedef struct evp_aead_st EVP_AEAD;
typedef struct evp_aead_ctx_st EVP_AEAD_CTX;

extern const EVP_AEAD *CCryptoBoringSSL_EVP_aead_aes_256_gcm(void);
extern EVP_AEAD_CTX *CCryptoBoringSSL_EVP_AEAD_CTX_new(const EVP_AEAD *aead, const uint8_t *key, size_t key_len,
                                                       size_t tag_len);
extern void CCryptoBoringSSL_EVP_AEAD_CTX_free(EVP_AEAD_CTX *ctx);
extern int CCryptoBoringSSL_EVP_AEAD_CTX_open(const EVP_AEAD_CTX *ctx, uint8_t *out, size_t *out_len,
                                              size_t max_out_len, const uint8_t *nonce, size_t nonce_len,
                                              const uint8_t *in, size_t in_len, const uint8_t *ad, size_t ad_len);

knox_aead_ctx *knox_aead_aes256gcm_new(const uint8_t *key, size_t key_len) {
    if (key_len != 32) return NULL;
    return (knox_aead_ctx *)CCryptoBoringSSL_EVP_AEAD_CTX_new(CCryptoBoringSSL_EVP_aead_aes_256_gcm(), key, key_len, 16);
}

void knox_aead_free(knox_aead_ctx *ctx) {
    if (ctx) CCryptoBoringSSL_EVP_AEAD_CTX_free((EVP_AEAD_CTX *)ctx);
}

int knox_aead_open(const knox_aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len, const uint8_t *nonce,
                   size_t nonce_len, const uint8_t *in, size_t in_len, const uint8_t *ad, size_t ad_len) {
    return CCryptoBoringSSL_EVP_AEAD_CTX_open((const EVP_AEAD_CTX *)ctx, out, out_len, max_out_len, nonce, nonce_len,
                                              in, in_len, ad, ad_len);
}
