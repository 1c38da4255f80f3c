import Foundation
import XCTest
@testable import HANetCore

final class UTCTimestampTests: XCTestCase {
    /// The hand-written formatter agrees with Foundation's on dates across four centuries.
    func testMatchesFoundationISO8601() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SystemRandomNumberGenerator()
        let samples = [0, 951_782_400, 1_764_159_972.72, -86_400.5, 4_107_542_399.999, 1_709_164_800] +
            (0..<2000).map { _ in Double(Int64.random(in: -2_208_988_800...7_258_118_400, using: &rng)) + Double(Int.random(in: 0...999)) / 1000 }
        for t in samples {
            XCTAssertEqual(UTCTimestamp.iso8601(secondsSince1970: t), f.string(from: Date(timeIntervalSince1970: t)), "t = \(t)")
        }
    }

    func testFixed() {
        XCTAssertEqual(UTCTimestamp.fixed(1.23456, 3), "1.235")
        XCTAssertEqual(UTCTimestamp.fixed(0.0004, 3), "0.000")
        XCTAssertEqual(UTCTimestamp.fixed(-2.5, 1), "-2.5")
        XCTAssertEqual(UTCTimestamp.fixed(12.0, 0), "12")
        XCTAssertEqual(UTCTimestamp.fixed(9.9996, 3), "10.000")
    }
}
