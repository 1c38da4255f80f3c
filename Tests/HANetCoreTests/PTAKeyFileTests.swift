import XCTest
@testable import HANetCore

final class PTAKeyFileTests: XCTestCase {
    func testParsesHexWithCommentsAndWhitespace() throws {
        let key = try PTAKeyFile.parse("# s1 <-> s2\n00112233445566778899aabbccddeeff\n  0011 2233\r\n", file: "k")
        XCTAssertEqual(key, [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
                             0x00, 0x11, 0x22, 0x33])
        XCTAssertEqual(try PTAKeyFile.parse(String(repeating: "AB", count: 32), file: "k"), Array(repeating: 0xab, count: 32))
    }

    func testErrorsNameFileLineAndExpectation() {
        XCTAssertThrowsError(try PTAKeyFile.parse("# c\n0011zz", file: "/etc/hanet/s2.key")) {
            XCTAssertEqual($0 as? HANetError, HANetError(.config, "/etc/hanet/s2.key:2: expected hexadecimal key text (such as the output of `openssl rand -hex 32`), found 'z'"))
        }
        XCTAssertThrowsError(try PTAKeyFile.parse("001", file: "k")) {
            XCTAssertEqual(($0 as? HANetError)?.message, "k: expected an even number of hex digits (two per byte), got 3")
        }
        XCTAssertThrowsError(try PTAKeyFile.parse("0011", file: "k")) {
            XCTAssertEqual(($0 as? HANetError)?.message, "k: expected a key of 16 to 128 bytes (32 to 256 hex digits), got 2 bytes")
        }
        XCTAssertThrowsError(try PTAKeyFile.parse("", file: "k"))
    }
}
