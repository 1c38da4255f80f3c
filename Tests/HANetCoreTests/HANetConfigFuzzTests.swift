import XCTest
@testable import HANetCore

/// Mutated configuration files must never crash the parser, and every error
/// must point at a line that exists in the file.
final class HANetConfigFuzzTests: XCTestCase {
    func testMutatedConfigsFailCleanly() {
        var rng = PTAWireFuzzTests.SplitMix64(state: 0xC0FF_EE00)
        let original = Array(HANetConfigParseTests.full.utf8)
        let alphabet = Array("[]{}=\"'.,#\n\\ -_0123456789abcxyz\t".utf8)
        var failures = 0
        var successes = 0
        for i in 0..<5_000 {
            var b = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0...3, using: &rng) {
                case 0: b[at] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
                case 1: b.remove(at: at)
                case 2: b.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)], at: at)
                default: b = Array(b[..<at])
                }
                if b.isEmpty { b = [0x23] }
            }
            let text = String(decoding: b, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            do {
                _ = try HANetConfig.parse(text, file: "f.toml")
                successes += 1
            } catch let e as ConfigError {
                failures += 1
                XCTAssertFalse(e.problems.isEmpty, "iteration \(i)")
                for p in e.problems {
                    XCTAssertTrue((1...lines).contains(p.line), "iteration \(i): line \(p.line) of \(lines): \(p)")
                    XCTAssertFalse(p.message.isEmpty)
                }
                XCTAssertEqual(e.problems.map(\.line), e.problems.map(\.line).sorted(), "iteration \(i): not in file order")
            } catch {
                XCTFail("iteration \(i): unexpected error type \(error)")
            }
        }
        XCTAssertGreaterThan(failures, 2_500)
        XCTAssertGreaterThan(successes, 0, "some mutations (in comments or values) leave a valid file")
    }
}
