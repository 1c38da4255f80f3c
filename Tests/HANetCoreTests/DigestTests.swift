import XCTest
@testable import HANetCore

/// libcrypto's SHA-256 and HMAC-SHA256 against the published test vectors
/// (FIPS 180-2 appendix B, RFC 4231 test cases 1, 2 and 6), and the constant-time check.
final class DigestTests: XCTestCase {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func testSHA256KnownAnswers() {
        XCTAssertEqual(hex(Digest.sha256(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(Digest.sha256([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testHMACSHA256KnownAnswers() {
        XCTAssertEqual(hex(Digest.hmacSHA256(Array("Hi There".utf8), key: Array(repeating: 0x0b, count: 20))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(hex(Digest.hmacSHA256(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // A key longer than the block is hashed first.
        XCTAssertEqual(hex(Digest.hmacSHA256(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                                             key: Array(repeating: 0xaa, count: 131))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testValidityCheckRefusesAnyOtherMAC() {
        let key = Array(repeating: UInt8(7), count: 32), message = Array("takeover".utf8)
        let mac = Digest.hmacSHA256(message, key: key)
        XCTAssertTrue(Digest.isValidHMACSHA256(mac, for: message, key: key))
        XCTAssertTrue(Digest.isValidHMACSHA256(mac, for: message[...], key: key), "a slice authenticates as the array does")
        for i in [0, 15, 31] {
            var bad = mac
            bad[i] ^= 1
            XCTAssertFalse(Digest.isValidHMACSHA256(bad, for: message, key: key), "byte \(i) flipped")
        }
        XCTAssertFalse(Digest.isValidHMACSHA256(Array(mac.dropLast()), for: message, key: key), "a short MAC")
        XCTAssertFalse(Digest.isValidHMACSHA256(mac, for: message, key: key.map { $0 ^ 1 }), "another key")
    }
}
