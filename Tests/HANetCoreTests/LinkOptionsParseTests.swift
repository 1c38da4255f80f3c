import XCTest
@testable import HANetCore

/// The [[link]] keys of links that are not NICs: a tty link without `interface`,
/// `slow_link_policy`, `udev_properties` and the PPP timers.
final class LinkOptionsParseTests: XCTestCase {
    static let head = """
    [node]
    name = "s1"

    [master]
    name = "hanet0"
    addresses = ["198.51.100.11/24"]

    [[link]]
    interface = "eth0"

    """

    func testTtyLinkOptionsAreParsed() throws {
        let c = try HANetConfig.parse(Self.head + """
        [[link]]
        type = "ppp-serial"
        device = "/dev/ttyS0"
        baud = 115200
        slow_link_policy = "drain"
        echo_interval_ms = 100
        echo_failures = 5
        udev_properties = ["HANET_SPEED_BPS=115200", "ID_SERIAL=x=y"]
        """, file: "t.toml")
        let link = try XCTUnwrap(c.links.last)
        XCTAssertEqual(link.interface, "ppp-1", "a tty link without `interface` is named after its position")
        XCTAssertEqual(link.options["slow_link_policy"], .string("drain"))
        XCTAssertEqual(link.options["echo_interval_ms"], .integer(100))
        XCTAssertEqual(link.options["echo_failures"], .integer(5))
        XCTAssertEqual(link.options["udev_properties"], .array([.string("HANET_SPEED_BPS=115200"), .string("ID_SERIAL=x=y")]))
    }

    func testBadValuesNameTheLineKeyAndWhatWasExpected() {
        XCTAssertThrowsError(try HANetConfig.parse(Self.head + """
        [[link]]
        interface = "priv0"
        slow_link_policy = "stop"
        udev_properties = ["lower=x", "NOEQUALS"]
        echo_failures = 0
        """, file: "t.toml")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("t.toml:12: link[1].slow_link_policy: expected \"serve\" (keep accepting new connections) or \"drain\""), text)
            XCTAssertTrue(text.contains("t.toml:13: link[1].udev_properties[0]: expected \"KEY=VALUE\""), text)
            XCTAssertTrue(text.contains("link[1].udev_properties[1]: expected \"KEY=VALUE\""), text)
            XCTAssertTrue(text.contains("t.toml:14: link[1].echo_failures"), text)
        }
    }
}
