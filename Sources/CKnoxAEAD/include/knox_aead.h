// A reusable AES-256-GCM context for opening secret values: BoringSSL's EVP_AEAD_CTX, keyed once with the sealing
// subkey. swift-crypto builds a new context (key schedule, GHASH tables, a class and a Data) for every open; the data
// plane opens a secret on every request, and a context made once makes that a single call.
#ifndef KNOX_AEAD_H
#define KNOX_AEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct knox_aead_ctx knox_aead_ctx;

// A context for AES-256-GCM with a 16-byte tag, or NULL when the key is not 32 bytes.
knox_aead_ctx *knox_aead_aes256gcm_new(const uint8_t *key, size_t key_len);

void knox_aead_free(knox_aead_ctx *ctx);

// Opens `in` (ciphertext followed by its tag) into `out`. Returns 1 and sets `*out_len` when it authenticates, 0
// otherwise. Safe to call from several threads at once on one context (BoringSSL's aead.h).
int knox_aead_open(const knox_aead_ctx *ctx, uint8_t *out, size_t *out_len, size_t max_out_len, const uint8_t *nonce,
                   size_t nonce_len, const uint8_t *in, size_t in_len, const uint8_t *ad, size_t ad_len);

#endif
