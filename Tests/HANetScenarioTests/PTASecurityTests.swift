import Foundation
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// A PTA message that fails any check changes nothing: each bad datagram is
/// sent to s2's responder from s1's end of the private link, then s2's
/// neighbours, routes and sysctls are compared with what they were, and s2's
/// log must name the reason.
final class PTASecurityTests: XCTestCase {
    var net: ScenarioNetwork!
    var key: [UInt8] = []
    let boot = UInt64.random(in: 1...UInt64.max)
    var counter: UInt64 = 1

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
        let text = try String(contentsOfFile: net.keyFile, encoding: .utf8)
        key = try PTAKeyFile.parse(text, file: net.keyFile)
        // Only s2 runs: nothing on s1 answers or asks, so every change on s2 comes from the test.
        try net.startDaemon("s2", config: try net.config("s2"))
        try net.exec("s1", "ip addr add 169.254.77.1/30 dev priv0")
    }

    override func tearDown() {
        net?.down()
    }

    func message(_ type: PTAMessage.Kind, sender: String = "s1", addresses: [String] = ["198.51.100.11"]) -> PTAMessage {
        counter += 1
        return PTAMessage(type: type, sender: sender, addresses: addresses.compactMap { IPv4Address($0) },
                          counter: counter, bootID: boot, leaseMillis: 3000)
    }

    /// Sends a datagram to s2's PTA port from inside s1's namespace (source 169.254.77.1).
    func send(_ bytes: [UInt8]) throws {
        try NetworkNamespace.run(net.ns("s1")) {
            let sock = UDPSocket(port: 0) { _, _, _ in }
            try sock.start()
            defer { sock.stop() }
            try sock.send(bytes, to: IPv4Address("169.254.77.2")!, port: 7377)
        }
    }

    /// Sends `bytes`, waits for s2 to log `reason`, and asserts the kernel did not change.
    func assertRefused(_ what: String, _ bytes: [UInt8], logs reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try net.ptaKernelState()
        try send(bytes)
        try waitUntil(3, "s2 to log '\(reason)' for \(what)") { net.errors("daemon-s2").contains(reason) }
        XCTAssertEqual(try net.ptaKernelState(), before, "\(what) changed s2's kernel state", file: file, line: line)
        XCTAssertTrue(try net.status("s2").pta.serving.isEmpty, "\(what): s2 serves someone", file: file, line: line)
    }

    func testEveryBadMessageIsRefusedAndChangesNothing() throws {
        let wrongKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try assertRefused("a TAKEOVER signed with the wrong key",
                          try PTAWire.encode(message(.takeover), key: wrongKey), logs: "bad MAC")

        let sample = try PTAWire.encode(message(.takeover), key: key)
        try assertRefused("a truncated datagram", Array(sample.prefix(sample.count - 7)), logs: "truncated")
        try assertRefused("an oversized datagram", sample + [UInt8](repeating: 0, count: 2000), logs: "oversized")
        try assertRefused("a message from an unknown sibling",
                          try PTAWire.encode(message(.takeover, sender: "s9"), key: key), logs: "unknown sender \"s9\"")
        try assertRefused("a TAKEOVER for addresses s1 does not own",
                          try PTAWire.encode(message(.takeover, addresses: ["198.51.100.12"]), key: key),
                          logs: "198.51.100.12 is not among s1's configured addresses")

        // A valid TAKEOVER is served, a RELEASE undoes it; the same TAKEOVER sent again is a replay.
        // (Counters only go up: it is made after every message above.)
        let valid = try PTAWire.encode(message(.takeover), key: key)
        let clean = try net.ptaKernelState()
        try send(valid)
        try waitUntil(3, "s2 to serve s1") { try net.status("s2").pta.serving.map(\.sibling) == ["s1"] }
        XCTAssertNotEqual(try net.ptaKernelState(), clean, "a valid TAKEOVER must change s2's kernel state")
        try send(try PTAWire.encode(message(.release), key: key))
        try waitUntil(3, "s2 to release s1") { try net.status("s2").pta.serving.isEmpty }
        XCTAssertEqual(try net.ptaKernelState(), clean)
        try assertRefused("a replayed TAKEOVER", valid, logs: "dropped: ")
    }
}
