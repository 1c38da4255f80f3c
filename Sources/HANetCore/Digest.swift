import CLibCrypto

/// SHA-256 and HMAC-SHA256, the only cryptography HANet uses (the PTA's MAC, stable
/// names and addresses derived from node names), from the system's libcrypto (OpenSSL 3).
/// A system library like libnl and libnftables: nothing to compile, where swift-crypto
/// compiled its own BoringSSL in every build (106 s of CPU in the release build, most of
/// it again in the debug build, measured on these machines).
public enum Digest {
    public static let sha256Length = 32

    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: sha256Length)
        data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                // SHA256 returns its output pointer; it cannot fail for a valid buffer.
                _ = SHA256(d.baseAddress, d.count, o.baseAddress)
            }
        }
        return out
    }

    /// HMAC-SHA256 of `message` under `key` (RFC 2104).
    public static func hmacSHA256<M: Collection>(_ message: M, key: [UInt8]) -> [UInt8] where M.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: sha256Length)
        var length: UInt32 = 0
        // A zero-length key still needs a valid pointer.
        let k = key.isEmpty ? [0] : key
        let result = k.withUnsafeBufferPointer { kp in
            Array(message).withUnsafeBufferPointer { mp in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), kp.baseAddress, Int32(key.count), mp.baseAddress, mp.count, o.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == UInt32(sha256Length), "libcrypto's HMAC-SHA256 failed")
        return out
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
    public static func isValidHMACSHA256<A: Collection, M: Collection>(_ mac: A, for message: M, key: [UInt8]) -> Bool
    where A.Element == UInt8, M.Element == UInt8 {
        guard mac.count == sha256Length else { return false }
        let expected = hmacSHA256(message, key: key)
        return Array(mac).withUnsafeBufferPointer { a in
            expected.withUnsafeBufferPointer { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, sha256Length) == 0 }
        }
    }
}
