import Crypto

/// SHA-256 for tests that check PTAWire's MAC from first principles.
enum CryptoSHA {
    static func digest(_ b: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: b)) }
}
