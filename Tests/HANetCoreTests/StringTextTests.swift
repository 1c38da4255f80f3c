import Foundation
import XCTest
@testable import HANetCore

/// The NSString replacements give what NSString gave where the daemon uses them.
final class StringTextTests: XCTestCase {
    func testFilePath() {
        // NSString's answers (its deletingLastPathComponent traps on "a" in this toolchain, hence a table).
        let cases: [(String, last: String, parent: String)] = [
            ("/a/b", "b", "/a"), ("/a/b/", "b", "/a"), ("/a", "a", "/"), ("/", "/", "/"), ("a", "a", ""),
            ("a/b", "b", "a"), ("", "", ""), ("/usr/lib/hanet/plugins/", "plugins", "/usr/lib/hanet"),
        ]
        for (p, last, parent) in cases {
            XCTAssertEqual(FilePath.lastComponent(p), last, "lastComponent(\(p))")
            XCTAssertEqual(FilePath.deletingLastComponent(p), parent, "deletingLastComponent(\(p))")
        }
        for (dir, name, joined) in [("/a", "b", "/a/b"), ("/a/", "b", "/a/b"), ("/", "b", "/b"), ("", "b", "b"), ("a", "b.so", "a/b.so")] {
            XCTAssertEqual(FilePath.appending(dir, name), joined, "appending(\(dir), \(name))")
        }
    }

    func testTrimPadAndFind() {
        XCTAssertEqual("  Error: x \n\t".trimmingWhitespace(), "Error: x")
        XCTAssertEqual(" \n".trimmingWhitespace(), "")
        XCTAssertEqual("ab".padded(to: 4), "ab  ")
        XCTAssertEqual("abcdef".padded(to: 3), "abc", "cut like NSString's padding(toLength:)")
        let t = #"comment "hanet-port:e0" x"#
        let r = t.firstRange(ofText: #"comment "hanet-port:"#)
        XCTAssertEqual(r.map { String(t[$0.upperBound...]) }, #"e0" x"#)
        XCTAssertNil(t.firstRange(ofText: "absent"))
        XCTAssertNil(t.firstRange(ofText: ""))
        XCTAssertEqual("aaab".firstRange(ofText: "aab").map { "aaab".distance(from: "aaab".startIndex, to: $0.lowerBound) }, 1)
    }
}
