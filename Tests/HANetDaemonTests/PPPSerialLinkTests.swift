import Foundation
import Glibc
import HANetCore
@testable import HANetDaemon
import HANetPluginTestKit
import XCTest

/// The user-space PPP of the ppp-serial plugin, driven through the plugin
/// host over a real serial line stand-in: two ptys joined by socat. No
/// network namespace is involved: frames go to callbacks, not to a TUN.
final class PPPSerialLinkTests: XCTestCase {
    var host: PluginHost!
    var socat: Process?
    var dir = ""
    var links: [LinkInstance] = []
    var detectors: [DetectorInstance] = []

    override func setUpWithError() throws {
        host = PluginHost { _, _, _ in }
        host.load(from: PluginSearchPath(directory: try PluginTestKit.productsDirectory(), source: .buildTree), disabled: [])
        dir = NSTemporaryDirectory() + "hnt-ppp-\(String(UInt32.random(in: 0..<UInt32.max), radix: 36))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") else {
            throw XCTSkip("socat is not installed")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        p.arguments = ["-b", "65536", "pty,raw,echo=0,link=\(dir)/a", "pty,raw,echo=0,link=\(dir)/b"]
        try p.run()
        socat = p
        try poll(5, "socat's ptys") {
            FileManager.default.fileExists(atPath: "\(dir)/a") && FileManager.default.fileExists(atPath: "\(dir)/b")
        }
    }

    override func tearDown() {
        for d in detectors { d.destroy() }
        for l in links { l.close() }
        if let p = socat, p.isRunning { p.terminate(); p.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func poll(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return }
            usleep(10_000)
        }
        XCTFail("timed out after \(seconds) s waiting for \(what)")
        throw HANetError(.state, "timed out waiting for \(what)")
    }

    func options(_ tty: String, interface: String, address: String, peer: String) -> [String: HANetConfig.Value] {
        ["device": .string(tty), "interface": .string(interface), "address": .string(address), "peer_address": .string(peer),
         "echo_interval_ms": .integer(50), "echo_failures": .integer(3), "restart_ms": .integer(100)]
    }

    func open(_ tty: String, interface: String, address: String, peer: String,
              onFrame: (([UInt8]) -> Void)? = nil) throws -> LinkInstance {
        let l = try host.openLink(type: "ppp-serial", device: DeviceInfo(name: tty, subsystem: "tty"),
                                  config: options(tty, interface: interface, address: address, peer: peer), onFrame: onFrame)
        links.append(l)
        return l
    }

    /// The far end of the line in raw mode, for the test to speak bytes on.
    func rawEnd(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw HANetError(.io, "open \(path): \(String(cString: strerror(errno)))") }
        var t = termios()
        tcgetattr(fd, &t)
        cfmakeraw(&t)
        tcsetattr(fd, TCSANOW, &t)
        return fd
    }

    /// RFC 1662 framing checked byte for byte: a Configure-Request from the
    /// far end (ACCM 0, a Magic-Number holding both 0x7E and 0x7D and a
    /// control character, so every escape rule is used) must come back as
    /// exactly this Configure-Ack. Both frames were computed independently
    /// (Python, bitwise CRC) with every control character escaped, as LCP
    /// always is; the FCS-16 implementation gives the RFC's check values.
    func testLCPConfigureAckMatchesTheRFC1662Encoding() throws {
        let request: [UInt8] = [0x7E, 0xFF, 0x7D, 0x23, 0xC0, 0x21, 0x7D, 0x21, 0x7D, 0x21, 0x7D, 0x20, 0x7D, 0x30,
                                0x7D, 0x22, 0x7D, 0x26, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x25,
                                0x7D, 0x26, 0x7D, 0x5E, 0x7D, 0x5D, 0x7D, 0x32, 0x34, 0x72, 0xCD, 0x7E]
        let ack: [UInt8] = [0x7E, 0xFF, 0x7D, 0x23, 0xC0, 0x21, 0x7D, 0x22, 0x7D, 0x21, 0x7D, 0x20, 0x7D, 0x30,
                            0x7D, 0x22, 0x7D, 0x26, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x20, 0x7D, 0x25,
                            0x7D, 0x26, 0x7D, 0x5E, 0x7D, 0x5D, 0x7D, 0x32, 0x34, 0x53, 0x57, 0x7E]
        XCTAssertEqual(Self.fcs16(Array("123456789".utf8)) ^ 0xFFFF, 0x906E, "CRC-16/X.25 check value")
        let unescaped = Self.unescape(Array(ack.dropFirst().dropLast()))
        XCTAssertEqual(Self.fcs16(unescaped), 0xF0B8, "a frame with its FCS gives RFC 1662's good final value")

        let far = try rawEnd("\(dir)/b")
        defer { Glibc.close(far) }
        _ = try open("\(dir)/a", interface: "ppptest0", address: "169.254.77.1/30", peer: "169.254.77.2")
        var seen: [UInt8] = []
        // A corrupted copy first (one FCS bit flipped): it must be ignored, not acknowledged.
        var corrupted = request
        corrupted[corrupted.count - 2] ^= 0x01
        _ = corrupted.withUnsafeBytes { Glibc.write(far, $0.baseAddress, $0.count) }
        _ = request.withUnsafeBytes { Glibc.write(far, $0.baseAddress, $0.count) }
        try poll(3, "the Configure-Ack") {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { Glibc.read(far, $0.baseAddress, $0.count) }
            if n > 0 { seen += buf[0..<n] }
            return Self.count(ack, in: seen) > 0
        }
        XCTAssertEqual(Self.count(ack, in: seen), 1, "one Ack for the good request, none for the corrupted one")
        // Its own Configure-Request went out too, as LCP with ACCM and Magic-Number.
        let frames = Self.frames(seen)
        XCTAssertTrue(frames.contains { $0.starts(with: [0xFF, 0x03, 0xC0, 0x21, 0x01]) && $0.count == 4 + 4 + 12 + 2 },
                      "a Configure-Request with two 6-byte options: \(frames)")
    }

    /// Two ends negotiate LCP and IPCP, then carry IP packets of every size
    /// and byte value both ways; the ppp-echo detector follows the line.
    func testTwoEndsNegotiateCarryPacketsAndEchoDetectsALostLine() throws {
        let lock = NSLock()
        var atA: [[UInt8]] = [], atB: [[UInt8]] = []
        let a = try open("\(dir)/a", interface: "ppptest-a", address: "169.254.77.1/30", peer: "169.254.77.2") { f in
            lock.lock(); atA.append(f); lock.unlock()
        }
        let b = try open("\(dir)/b", interface: "ppptest-b", address: "169.254.77.2/30", peer: "169.254.77.1") { f in
            lock.lock(); atB.append(f); lock.unlock()
        }
        let verdicts = NSLock()
        var last: (Health, String) = (.unknown, "")
        let det = try host.createDetector(type: "ppp-echo", slave: "ppptest-a", ifindex: 0, layer: .l3, intervalMillis: 20,
                                          config: [:]) { h, r in verdicts.lock(); last = (h, r); verdicts.unlock() }
        detectors.append(det)
        let scheduler = DetectorScheduler()
        scheduler.add(det)
        defer { scheduler.stop() }
        try poll(5, "ppp-echo GOOD on a") { verdicts.lock(); defer { verdicts.unlock() }; return last.0 == .good }

        var sent: [[UInt8]] = []
        for (i, size) in [20, 21, 300, 1024, 1499, 1500].enumerated() {
            var p = [UInt8](repeating: 0, count: size)
            p[0] = 0x45
            for k in 1..<size { p[k] = UInt8(truncatingIfNeeded: k &* 7 &+ i) } // every byte value, flags and escapes included
            sent.append(p)
            XCTAssertTrue(a.send(p), "send \(size) bytes")
            XCTAssertTrue(b.send(p.reversed().map { $0 }.withFirst(0x45)), "send \(size) bytes back")
        }
        XCTAssertFalse(a.send([0x60] + [UInt8](repeating: 0, count: 39)), "IPv6 is not carried (no IPV6CP)")
        XCTAssertFalse(a.send([UInt8](repeating: 0x45, count: 1501)), "larger than the MTU")
        try poll(5, "all packets on both ends") {
            lock.lock(); defer { lock.unlock() }
            return atB.count >= sent.count && atA.count >= sent.count
        }
        lock.lock()
        XCTAssertEqual(atB, sent)
        XCTAssertEqual(atA, sent.map { $0.reversed().map { $0 }.withFirst(0x45) })
        lock.unlock()
        try poll(3, "Echo-Replies counted by ppp-echo") { (det.counters?.replies ?? 0) > 0 }
        XCTAssertGreaterThanOrEqual(det.counters?.probesSent ?? 0, det.counters?.replies ?? 0)

        // The line is cut: Echo-Requests go unanswered and the detector says so.
        socat?.terminate()
        socat?.waitUntilExit()
        try poll(3, "ppp-echo BAD after the line is cut") { verdicts.lock(); defer { verdicts.unlock() }; return last.0 == .bad }
        verdicts.lock()
        XCTAssertTrue(last.1.contains("Echo") || last.1.contains("LCP"), last.1)
        verdicts.unlock()
    }

    func testBadConfigurationIsRefusedWithTheKeyAndWhatWasExpected() throws {
        let tty = DeviceInfo(name: "\(dir)/a", subsystem: "tty")
        var o = options("\(dir)/a", interface: "ppptest0", address: "169.254.77.1/30", peer: "169.254.77.2")
        o["address"] = .string("near")
        XCTAssertThrowsError(try host.openLink(type: "ppp-serial", device: tty, config: o)) {
            XCTAssertTrue("\($0)".contains("address = \"near\": expected this end's IPv4 address"), "\($0)")
        }
        o = options("\(dir)/a", interface: "ppptest0", address: "169.254.77.1/30", peer: "169.254.77.2")
        o["echo_interval_ms"] = .integer(0)
        XCTAssertThrowsError(try host.openLink(type: "ppp-serial", device: tty, config: o)) {
            XCTAssertTrue("\($0)".contains("echo_interval_ms = \"0\": expected an integer from 10 to 60000"), "\($0)")
        }
        o = options("/dev/null", interface: "ppptest0", address: "169.254.77.1/30", peer: "169.254.77.2")
        XCTAssertThrowsError(try host.openLink(type: "ppp-serial", device: DeviceInfo(name: "/dev/null", subsystem: "tty"), config: o)) {
            XCTAssertTrue("\($0)".contains("/dev/null is not a terminal"), "\($0)")
        }
        XCTAssertThrowsError(try host.openLink(type: "ppp-serial", device: DeviceInfo(name: "ppp0", arphrd: 512), config: o)) {
            XCTAssertTrue("\($0)".contains("only tty devices are supported"), "\($0)")
        }
        // One line, one owner.
        _ = try open("\(dir)/a", interface: "ppptest0", address: "169.254.77.1/30", peer: "169.254.77.2")
        XCTAssertThrowsError(try host.openLink(type: "ppp-serial", device: tty,
                                               config: options("\(dir)/a", interface: "ppptest1", address: "169.254.77.1/30", peer: "169.254.77.2"))) {
            XCTAssertTrue("\($0)".contains("is in use by another process"), "\($0)")
        }
        XCTAssertThrowsError(try host.createDetector(type: "ppp-echo", slave: "eth0", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }) {
            XCTAssertTrue("\($0)".contains("eth0 is not an open ppp-serial link"), "\($0)")
        }
    }

    // MARK: an independent RFC 1662 reading, bitwise

    static func fcs16(_ bytes: [UInt8]) -> UInt16 {
        var fcs: UInt16 = 0xFFFF
        for b in bytes {
            fcs ^= UInt16(b)
            for _ in 0..<8 { fcs = fcs & 1 != 0 ? (fcs >> 1) ^ 0x8408 : fcs >> 1 }
        }
        return fcs
    }

    static func unescape(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var esc = false
        for b in bytes {
            if b == 0x7D { esc = true; continue }
            out.append(esc ? b ^ 0x20 : b)
            esc = false
        }
        return out
    }

    static func frames(_ stream: [UInt8]) -> [[UInt8]] {
        stream.split(separator: 0x7E).map { unescape(Array($0)) }
    }

    static func count(_ needle: [UInt8], in hay: [UInt8]) -> Int {
        guard hay.count >= needle.count else { return 0 }
        var n = 0
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { n += 1 }
        return n
    }
}

private extension Array where Element == UInt8 {
    func withFirst(_ b: UInt8) -> [UInt8] {
        var c = self
        if !c.isEmpty { c[0] = b }
        return c
    }
}
