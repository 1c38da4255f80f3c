import HANetCore

/// SHA-256 for tests that check PTAWire's MAC from first principles.
enum CryptoSHA {
    static func digest(_ b: [UInt8]) -> [UInt8] { Digest.sha256(b) }
}

/// HMAC-SHA256 computed independently of PTAWire (RFC 2104 by hand over libcrypto's SHA-256,
/// not its HMAC), so the layout test checks the MAC rather than the code against itself.
enum HMACSHA256 {
    static func mac(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? sha256(key) : key
        k += Array(repeating: 0, count: 64 - k.count)
        let inner = sha256(k.map { $0 ^ 0x36 } + message)
        return sha256(k.map { $0 ^ 0x5c } + inner)
    }

    private static func sha256(_ b: [UInt8]) -> [UInt8] {
        Array(CryptoSHA.digest(b))
    }
}
