import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

/// A real BIRD 2 (Debian's bird2) in a namespace of its own, with an
/// operator's bird.conf that includes HANet's fragment.
final class TestBIRD {
    let dir: String
    let ns: String
    var socket: String { dir + "/bird.ctl" }
    var fragment: String { dir + "/hanet.conf" }
    var conf: String { dir + "/bird.conf" }

    init(ns: String, extra: String = "") throws {
        self.ns = ns
        dir = NSTemporaryDirectory() + "rt-bird-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.operatorConf(include: dir + "/hanet.conf", extra: extra).write(toFile: conf, atomically: true, encoding: .utf8)
    }

    static func operatorConf(include: String, extra: String) -> String {
        """
        router id 192.0.2.1;
        protocol device { scan time 10; }
        \(extra)
        include "\(include)";
        protocol kernel { ipv4 { import none; export where hanet_kernel(); }; }
        """
    }

    /// Starts BIRD (it daemonizes) and waits for its socket.
    func start() throws {
        // BIRD forks into the background and keeps the descriptors it was
        // given: ChildProcess hands it /dev/null and reaps the parent.
        let outcome = ChildProcess.run("/usr/sbin/ip", arguments: ["netns", "exec", ns, "bird", "-c", conf, "-s", socket, "-P", dir + "/bird.pid"],
                                       environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMillis: 10_000)
        guard outcome == .exited(0) else {
            // `bird -p` only parses, in the foreground: its message says why.
            let why = (try? Shell.run("/usr/sbin/bird", "-p", "-c", conf)) ?? ""
            throw ShellError(description: "bird: \(outcome) \(why)")
        }
        XCTAssertTrue(waitFor(10) { (try? BIRDControl(path: socket)) != nil }, "BIRD's control socket at \(socket)")
    }

    func stop() {
        stopKeepingFiles()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func stopKeepingFiles() {
        if let pid = (try? String(contentsOfFile: dir + "/bird.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            kill(pid, SIGTERM)
            _ = waitFor(5) { kill(pid, 0) != 0 }
        }
    }
}

final class BIRDControlTests: XCTestCase {
    var spaces = TestNamespaces(prefix: "rt")
    var birds: [TestBIRD] = []

    override func tearDown() {
        birds.forEach { $0.stop() }
        spaces.cleanUp()
        super.tearDown()
    }

    func bird(extra: String = "", fragment: String) throws -> TestBIRD {
        let b = try TestBIRD(ns: try spaces.make("b\(birds.count)"), extra: extra)
        birds.append(b)
        try spaces.ip(b.ns, "link", "set", "lo", "up")
        try fragment.write(toFile: b.fragment, atomically: true, encoding: .utf8)
        try b.start()
        return b
    }

    static let own = BIRDFragment(own: [IPv4Address("198.51.100.11")!], lessPreferred: .prepend(count: 3), localAS: 65001)

    func testGreetingCommandsAndTypedProtocolStates() throws {
        let b = try bird(fragment: Self.own.render())
        let c = try BIRDControl(path: b.socket)
        XCTAssertTrue(c.greeting.hasPrefix("BIRD 2."), c.greeting)
        let protocols = try c.protocols()
        let own = try XCTUnwrap(protocols.first { $0.name == "hanet_own" })
        XCTAssertEqual(own.proto, "Static")
        XCTAssertEqual(own.table, "master4")
        XCTAssertEqual(own.state, .up)
        XCTAssertNil(own.bgpState)
        XCTAssertTrue(protocols.contains { $0.name == "device1" && $0.proto == "Device" })
        XCTAssertEqual(try c.protocols("hanet_*").map(\.name), ["hanet_own"])

        try c.setEnabled("hanet_own", false)
        XCTAssertTrue(waitFor(5) { (try? c.protocols("hanet_own").first?.state) == .down }, "flush, then down")
        XCTAssertFalse(try c.command("show route").lines.contains { $0.text.contains("198.51.100.11/32") })
        try c.setEnabled("hanet_own", true)
        XCTAssertTrue(waitFor(5) { (try? c.protocols("hanet_own").first?.state) == .up })
        XCTAssertTrue(try c.command("show route").lines.contains { $0.text.hasPrefix("198.51.100.11/32") })

        XCTAssertThrowsError(try c.setEnabled("nosuch", false)) { e in
            guard case .reply(_, let code, _) = e as? BIRDControlError else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 9001, "an unknown protocol name does not parse")
        }
        XCTAssertThrowsError(try c.command("disable \"nosuch*\"")) { e in
            guard case .reply(_, let code, _) = e as? BIRDControlError else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 8003, "no protocols match")
        }
        XCTAssertThrowsError(try c.command("frobnicate")) { e in
            guard case .reply(_, let code, _) = e as? BIRDControlError else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 9001, "parse error")
        }
        XCTAssertThrowsError(try c.command("show\nprotocols"))
        // The connection stays usable after errors.
        XCTAssertFalse(try c.protocols().isEmpty)
    }

    func testConfigureCheckTimeoutConfirmAndUndo() throws {
        let b = try bird(fragment: Self.own.render())
        let c = try BIRDControl(path: b.socket)
        try c.configureCheck()
        // A broken fragment: check names HANet's file and line, BIRD keeps running the old one.
        try "protocol static hanet_own {\n    ipv4;\n    route 198.51.100.11/32 via;\n}\n".write(toFile: b.fragment, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try c.configureCheck()) { e in
            guard case .reply(_, let code, let message) = e as? BIRDControlError else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 8002)
            XCTAssertTrue(message.contains("hanet.conf:3"), message)
        }
        XCTAssertEqual(try c.protocols("hanet_own").first?.state, .up)

        // configure timeout: applied at once, undone unless confirmed.
        var two = Self.own
        two.own.append(IPv4Address("198.51.100.13")!)
        try two.render().write(toFile: b.fragment, atomically: true, encoding: .utf8)
        try c.configure(timeoutSeconds: 30)
        XCTAssertTrue(try c.command("show route").lines.contains { $0.text.hasPrefix("198.51.100.13/32") })
        try c.configureUndo()
        XCTAssertTrue(waitFor(5) { !((try? c.command("show route").lines.contains { $0.text.hasPrefix("198.51.100.13/32") }) ?? true) },
                      "undo returns to the configuration before `configure timeout`")
        try c.configure(timeoutSeconds: 30)
        try c.configureConfirm()
        XCTAssertTrue(try c.command("show route").lines.contains { $0.text.hasPrefix("198.51.100.13/32") })
    }

    func testErrorsCarryErrnoAndTimeout() throws {
        XCTAssertThrowsError(try BIRDControl(path: "/tmp/rt-no-such-\(UUID().uuidString.prefix(8)).ctl")) { e in
            XCTAssertEqual((e as? BIRDControlError).flatMap { if case .connect(_, let n) = $0 { return n }; return nil }, ENOENT)
            XCTAssertTrue("\(e)".contains("BIRD does not answer at"), "\(e)")
        }
        // A socket that accepts and never speaks: the greeting times out.
        let path = NSTemporaryDirectory() + "rt-mute-\(UUID().uuidString.prefix(8)).ctl"
        let server = try MuteListener(path: path)
        defer { server.close() }
        let t0 = Date()
        XCTAssertThrowsError(try BIRDControl(path: path, timeoutMillis: 200)) { e in
            XCTAssertEqual(e as? BIRDControlError, .timedOut(command: "(greeting)", millis: 200))
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2)
    }

    func testRoutingEngineAnnouncesWithdrawsCarriesAndKeepsItsIntentAcrossConfigure() throws {
        // The carried sibling's next hop is on a veth, so BIRD resolves it.
        let b = try bird(fragment: "function hanet_kernel() { return false; }\n")
        try spaces.ip(b.ns, "link", "add", "pv", "type", "veth", "peer", "name", "pvp")
        try spaces.ip(b.ns, "addr", "add", "169.254.12.2/30", "dev", "pv")
        try spaces.ip(b.ns, "link", "set", "pv", "up")
        try spaces.ip(b.ns, "link", "set", "pvp", "up")
        let r = try BIRDRouting(loading: Self.own, includeFile: b.fragment, controlSocket: b.socket, configureTimeoutSeconds: 10)
        let c = try BIRDControl(path: b.socket)
        func state(_ p: String) throws -> BIRDProtocol.State? { try c.protocols(p).first?.state }
        XCTAssertEqual(try state("hanet_own"), .up)

        try r.withdraw()
        XCTAssertTrue(waitFor(5) { (try? state("hanet_own")) == .down })
        XCTAssertTrue(try String(contentsOfFile: b.fragment, encoding: .utf8).contains("disabled yes;"))
        try c.configure()   // the operator's reload keeps HANet's withdrawal
        XCTAssertEqual(try state("hanet_own"), .down)
        try r.announce(Self.own.own)
        XCTAssertTrue(waitFor(5) { (try? state("hanet_own")) == .up })

        try r.carry(sibling: "s-1", via: IPv4Address("169.254.12.1")!, addresses: [IPv4Address("198.51.100.12")!])
        XCTAssertTrue(waitFor(5) { (try? state("hanet_carry_s_1")) == .up })
        try r.release(sibling: "s-1")
        XCTAssertTrue(waitFor(5) { (try? state("hanet_carry_s_1")) == .down })
        let status = try r.status()
        XCTAssertTrue(status.ownAnnounced)
        XCTAssertEqual(status.carried.map(\.enabled), [false])
        XCTAssertTrue(status.protocols.contains { $0.name == "hanet_carry_s_1" })

        // A bird.conf that no longer parses: the change is refused and the fragment is as before.
        let before = try String(contentsOfFile: b.fragment, encoding: .utf8)
        try (TestBIRD.operatorConf(include: b.fragment, extra: "protocol nonsense {}")).write(toFile: b.conf, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try r.announce([IPv4Address("198.51.100.11")!, IPv4Address("198.51.100.13")!])) { e in
            guard case .reply(let cmd, 8002, _) = e as? BIRDControlError else { return XCTFail("\(e)") }
            XCTAssertEqual(cmd, "configure check")
        }
        XCTAssertEqual(try String(contentsOfFile: b.fragment, encoding: .utf8), before)
        XCTAssertEqual(try r.status().own, Self.own.own)

        // BIRD gone: a clear error with the errno, and nothing changed.
        b.stopKeepingFiles()
        XCTAssertThrowsError(try r.withdraw()) { e in
            guard let err = e as? BIRDControlError else { return XCTFail("\(e)") }
            switch err {
            case .connect(_, let n): XCTAssertTrue([ENOENT, ECONNREFUSED].contains(n), "\(err)")
            case .closed, .io: break
            default: XCTFail("\(err)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: b.fragment, encoding: .utf8), before, "the withdrawal was not half-applied to the file")
    }
}

/// A Unix socket that accepts connections and never answers.
final class MuteListener {
    let fd: Int32
    let path: String
    init(path: String) throws {
        self.path = path
        var addr = try UnixSocketServer.address(path)
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(fd, 4) == 0 else { throw ShellError(description: "bind \(path): \(errno)") }
    }
    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
