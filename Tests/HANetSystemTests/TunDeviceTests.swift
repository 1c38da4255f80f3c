import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

/// The TUN device the host gives a link plugin without a kernel driver.
final class TunDeviceTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testPacketsRoutedIntoTheDeviceAreReadAndWrittenPacketsReachTheKernel() throws {
        let ns = try spaces.make("tun")
        let tun = try NetworkNamespace.run(ns) { try TunDevice(name: "hnt-tun0") }
        XCTAssertEqual(tun.name, "hnt-tun0")
        let show = try spaces.ip(ns, "-o", "link", "show", "hnt-tun0")
        XCTAssertTrue(show.contains("POINTOPOINT") && show.contains("NOARP"), show)
        try spaces.ip(ns, "link", "set", "hnt-tun0", "up")
        try spaces.ip(ns, "addr", "add", "198.18.0.1/30", "dev", "hnt-tun0")

        // The kernel routes a ping to the peer into the device: a bare IPv4 packet (IFF_NO_PI).
        let ping = Process()
        ping.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        ping.arguments = ["netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "1", "198.18.0.2"]
        ping.standardOutput = FileHandle.nullDevice
        try ping.run()
        defer { ping.waitUntilExit() }
        var packet: [UInt8] = []
        let end = Date().addingTimeInterval(5)
        while packet.isEmpty, Date() < end {
            guard tun.waitReadable(timeoutMillis: 100) else { continue }
            var buf = [UInt8](repeating: 0, count: 2048)
            let n = buf.withUnsafeMutableBytes { tun.read(into: $0) }
            if n > 0, buf[0] >> 4 == 4 { packet = Array(buf[0..<n]) } // IPv6 autoconfiguration chatter comes first
        }
        XCTAssertGreaterThanOrEqual(packet.count, 28, "an IPv4 ICMP packet")
        XCTAssertEqual(packet.first.map { $0 >> 4 }, 4)
        XCTAssertEqual(packet[9], 1, "ICMP")
        XCTAssertEqual(Array(packet[16..<20]), [198, 18, 0, 2])

        // A packet written to the device arrives at the kernel's stack: an
        // echo reply from the peer is counted as received on the device.
        var reply = packet
        reply.replaceSubrange(12..<16, with: [198, 18, 0, 2])
        reply.replaceSubrange(16..<20, with: [198, 18, 0, 1])
        reply[20] = 0 // echo reply; ICMP checksum fixed up for the type change
        let sum = (UInt32(reply[22]) << 8 | UInt32(reply[23])) + 0x0800
        let folded = (sum & 0xffff) + (sum >> 16)
        reply[22] = UInt8(folded >> 8); reply[23] = UInt8(folded & 0xff)
        XCTAssertTrue(reply.withUnsafeBytes { tun.write($0) })
        let rx = try spaces.exec(ns, "cat", "/sys/class/net/hnt-tun0/statistics/rx_packets")
        XCTAssertEqual(rx.trimmingCharacters(in: .whitespacesAndNewlines), "1", "the written packet entered the kernel")

        // Closing the descriptor removes the device: nothing is left behind.
        tun.close()
        XCTAssertThrowsError(try spaces.ip(ns, "link", "show", "hnt-tun0"))
    }

    func testNameErrorsAreClear() throws {
        XCTAssertThrowsError(try TunDevice(name: "a-name-far-too-long")) {
            XCTAssertTrue("\($0)".contains("expected 1 to 15 characters"), "\($0)")
        }
    }
}
