import XCTest
@testable import HANetCore

/// Random and mutated datagrams must never crash the decoder, and nothing but
/// an exact valid encoding may decode.
final class PTAWireFuzzTests: XCTestCase {
    /// A small deterministic generator so that a failure can be replayed from its seed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func noise(_ n: Int, _ rng: inout SplitMix64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var w = rng.next()
            for _ in 0..<8 where i < n { out[i] = UInt8(truncatingIfNeeded: w); w >>= 8; i += 1 }
        }
        return out
    }

    static func name(_ e: PTAWireError) -> String {
        switch e {
        case .truncated: return "truncated"
        case .oversized: return "oversized"
        case .badMagic: return "badMagic"
        case .badVersion: return "badVersion"
        case .unknownType: return "unknownType"
        case .unknownSender: return "unknownSender"
        case .badMAC: return "badMAC"
        case .trailingBytes: return "trailingBytes"
        case .lengthOverflow: return "lengthOverflow"
        case .badText: return "badText"
        case .fieldTooLong: return "fieldTooLong"
        case .nonCanonical: return "nonCanonical"
        }
    }

    func testTwoHundredThousandRandomAndMutatedDatagrams() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["HANET_FUZZ_SEED"] ?? "") ?? 0x5EED_CAFE
        var rng = SplitMix64(state: seed)
        let key = PTAWireTests.key
        let keyFor: (String) -> [UInt8]? = { _ in key }

        // Valid datagrams of every shape to mutate.
        var valid: [[UInt8]] = []
        for i in 0..<128 {
            // Half of them version 2: IPv6 addresses beside IPv4 ones, at most 16 in all.
            let count4 = Int.random(in: 0...16, using: &rng)
            let count6 = i % 2 == 0 ? 0 : Int.random(in: 1...max(1, 16 - count4), using: &rng)
            let m = PTAMessage(type: PTAMessage.Kind.allCases[i % 6], flags: UInt16(truncatingIfNeeded: rng.next()),
                               sender: String(repeating: "s", count: Int.random(in: 0...32, using: &rng)),
                               addresses: (0..<min(count4, 16 - count6)).map { _ in IPv4Address(UInt32(truncatingIfNeeded: rng.next())) },
                               ipv6Addresses: (0..<count6).map { _ in IPv6Address(high: rng.next(), low: rng.next()) },
                               counter: rng.next(), bootID: rng.next(), leaseMillis: UInt32(truncatingIfNeeded: rng.next()),
                               reason: String(repeating: "x", count: Int.random(in: 0...256, using: &rng)))
            valid.append(try PTAWire.encode(m, key: key))
        }
        // Offsets of the length fields in a datagram (they move with the sender and address counts).
        func lengthOffsets(_ b: [UInt8]) -> [Int] {
            let s = Int(b[8])
            let c = Int(b[9 + s])
            var after = 9 + s + 1 + 4 * c
            var offsets = [8, 9 + s]
            if b[4] == PTAWire.ipv6Version {
                offsets.append(after)
                after += 1 + 16 * Int(b[after])
            }
            return offsets + [after + 20, after + 21]
        }

        let start = Date()
        var decoded = 0
        var counts: [String: Int] = [:]
        let iterations = 200_000
        for i in 0..<iterations {
            var b: [UInt8]
            // Mostly mutations; one in eleven is an unmodified valid datagram.
            let strategy = (i % 11) / 2
            switch strategy {
            case 0: // pure noise, random length up to 1100
                b = Self.noise(Int.random(in: 0...1100, using: &rng), &rng)
            case 1: // noise behind a valid header
                b = PTAWire.magic + [UInt8.random(in: 1...2, using: &rng), UInt8.random(in: 0...7, using: &rng)]
                    + Self.noise(Int.random(in: 0...600, using: &rng), &rng)
            case 2: // bit flips
                b = valid[Int.random(in: 0..<valid.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            case 3: // truncation or extension
                b = valid[Int.random(in: 0..<valid.count, using: &rng)]
                if Bool.random(using: &rng) { b.removeLast(Int.random(in: 1...b.count, using: &rng)) }
                else { b += (0..<Int.random(in: 1...40, using: &rng)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            case 4: // a length field set huge or off by a little
                b = valid[Int.random(in: 0..<valid.count, using: &rng)]
                let offsets = lengthOffsets(b)
                let o = offsets[Int.random(in: 0..<offsets.count, using: &rng)]
                b[o] = Bool.random(using: &rng) ? 0xff : b[o] &+ UInt8.random(in: 1...3, using: &rng)
            default: // an unmodified valid datagram must decode
                b = valid[Int.random(in: 0..<valid.count, using: &rng)]
            }
            switch PTAWire.decode(b, keyFor: keyFor) {
            case .success(let m):
                decoded += 1
                // Only an exact valid encoding decodes: re-encoding gives the same bytes.
                if try PTAWire.encode(m, key: key) != b { XCTFail("seed \(seed) iteration \(i): a non-canonical datagram decoded") }
            case .failure(let e):
                XCTAssertNotEqual(strategy, 5, "a valid datagram failed: \(e)")
                counts[Self.name(e), default: 0] += 1
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 10, "fuzzing took \(elapsed) s")
        // Every unmodified datagram decoded; mutations essentially never do (a flip can only survive if it is a no-op).
        let unmodified = (0..<iterations).filter { $0 % 11 == 10 }.count
        XCTAssertGreaterThanOrEqual(decoded, unmodified)
        XCTAssertLessThan(decoded, unmodified + 50)
        XCTAssertGreaterThan(counts.count, 5, "mutations should reach many distinct errors: \(counts)")
        print("PTA fuzz: \(iterations) datagrams in \(String(format: "%.2f", elapsed)) s, \(decoded) decoded, errors: \(counts.sorted { $0.key < $1.key })")
    }
}
