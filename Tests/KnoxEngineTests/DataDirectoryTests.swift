import Foundation
import KnoxDataPlane
import KnoxTestSupport
import Testing

@testable import KnoxEngine

/// A data directory open to other users is set to 0700 when it is opened (and the old mode reported).
@Suite struct DataDirectoryTests {
    private func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int ?? 0) & 0o777
    }

    @Test func looserPermissionsAreTightened() throws {
        let dir = TempDirectory()
        defer { dir.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let opened = try DataDirectory.prepare(dir.path)
        #expect(opened.tightenedFrom == 0o755)
        #expect(mode(dir.path) == 0o700)
        // Already private: left alone, nothing reported.
        #expect(try DataDirectory.prepare(dir.path).tightenedFrom == nil)
        // A new one is made 0700.
        let fresh = TempDirectory(path: dir.path + "/nested")
        _ = try DataDirectory.prepare(fresh.path)
        #expect(mode(fresh.path) == 0o700)
    }
}

/// The per-address limit of endpoints strangers call (`/oauth/authorize`).
@Suite struct AddressRateLimiterTests {
    @Test func ipv6CountsByItsSlash64() {
        #expect(AddressRateLimiter.key("2001:db8:1:2:aaaa::1") == AddressRateLimiter.key("2001:db8:1:2:ffff::9"))
        #expect(AddressRateLimiter.key("2001:db8:1:2::1") != AddressRateLimiter.key("2001:db8:1:3::1"))
        #expect(AddressRateLimiter.key("10.0.0.1") == "10.0.0.1")
        #expect(AddressRateLimiter.key("::ffff:10.0.0.1") == "10.0.0.1")
    }

    @Test func aFullTableRefusesNewAddressesInsteadOfGrowing() {
        let limiter = KeyRateLimiter(defaultLimit: RateLimitSetting(requests: 5, windowSec: 60), maxBuckets: 3)
        for address in ["a", "b", "c"] { #expect(limiter.take(keyId: address, limit: nil, nowMillis: 0).allowed) }
        #expect(!limiter.take(keyId: "d", limit: nil, nowMillis: 10).allowed)
        #expect(limiter.take(keyId: "a", limit: nil, nowMillis: 10).allowed)  // known ones go on
        // A window later the idle ones are forgotten and new addresses fit again.
        #expect(limiter.take(keyId: "d", limit: nil, nowMillis: 120_000).allowed)
    }
}
