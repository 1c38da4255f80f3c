import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

final class ProcSysctlTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testReadsAndWritesInsideTheNamespace() throws {
        let ns = try spaces.make("sy")
        try spaces.ip(ns, "link", "add", "sy0", "type", "veth", "peer", "name", "sy1")
        let rootForward = try ProcSysctl().read("net/ipv4/ip_forward")

        // Opened inside run(): the namespace's own /proc/sys/net.
        try NetworkNamespace.run(ns) {
            let sysctl = ProcSysctl()
            try sysctl.write("net/ipv4/conf/sy0/arp_ignore", "1")
            XCTAssertEqual(try sysctl.read("net/ipv4/conf/sy0/arp_ignore"), "1")
            let other = rootForward == "1" ? "0" : "1"
            try sysctl.write("net/ipv4/ip_forward", other)
            XCTAssertEqual(try sysctl.read("net/ipv4/ip_forward"), other)
        }
        XCTAssertEqual(try ProcSysctl().read("net/ipv4/ip_forward"), rootForward, "the root namespace must be untouched")
        XCTAssertThrowsError(try ProcSysctl().read("net/ipv4/conf/sy0/arp_ignore")) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound, "sy0 exists only in the test namespace: \(e)")
        }
        XCTAssertTrue(try spaces.exec(ns, "cat", "/proc/sys/net/ipv4/conf/sy0/arp_ignore").hasPrefix("1"))

        let bound = ProcSysctl(namespace: ns)
        try bound.write("net/ipv4/conf/sy0/arp_announce", "2")
        XCTAssertEqual(try bound.read("net/ipv4/conf/sy0/arp_announce"), "2")
        XCTAssertThrowsError(try bound.write("net/ipv4/conf/sy0/arp_announce", "banana")) { e in
            XCTAssertTrue("\(e)".contains("net/ipv4/conf/sy0/arp_announce") && "\(e)".contains("banana"), "\(e)")
        }
        XCTAssertThrowsError(try bound.read("../etc/passwd")) { e in
            XCTAssertEqual((e as? HANetError)?.code, .usage)
        }
        XCTAssertThrowsError(try NetworkNamespace.run("hnt-does-not-exist-\(spaces.tag)") { 0 }) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound)
        }
    }

    func testMonotonicClockAdvances() {
        let c = SystemClock()
        let a = c.nowNanos()
        XCTAssertTrue(waitFor(1, interval: 0) { c.nowNanos() > a })
    }
}
