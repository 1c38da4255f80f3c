import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

/// The kernel side of IPv6 failover, in namespaces: addresses added without
/// DAD, unsolicited NAs as a neighbour sees them, and a sibling's proxy NDP
/// with its sysctls restored exactly.
final class IPv6SystemTests: XCTestCase {
    var spaces = TestNamespaces(prefix: "hnt-v6")

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    /// Two namespaces joined by a veth pair, both ends up, addr_gen_mode 1 (no link-local noise).
    func pair(_ a: String, _ aDev: String, _ b: String, _ bDev: String) throws {
        try spaces.ip(a, "link", "add", aDev, "type", "veth", "peer", "name", bDev, "netns", b)
        try spaces.exec(a, "sysctl", "-qw", "net.ipv6.conf.\(aDev).addr_gen_mode=1")
        try spaces.exec(b, "sysctl", "-qw", "net.ipv6.conf.\(bDev).addr_gen_mode=1")
        try spaces.ip(a, "link", "set", aDev, "up")
        try spaces.ip(b, "link", "set", bDev, "up")
    }

    func testAnAddressAddedWithoutDADIsNeverTentativeEvenWhenDuplicated() throws {
        let a = try spaces.make("da"), c = try spaces.make("dc")
        try pair(a, "da0", c, "dc0")
        // The neighbour already holds the address: DAD would fail it.
        try spaces.ip(c, "addr", "add", "2001:db8:1::11/64", "dev", "dc0", "nodad")
        let nl = try NetworkNamespace.run(a) { try Netlink() }
        let service = IPv6Prefix("2001:db8:1::11/64")!
        try nl.addIPv6Address(service, to: "da0")
        // Read at once and then for 2 s (DAD takes about 1 s with the default dad_transmits):
        // never tentative, never dadfailed.
        var reads = 0
        let deadline = Date().addingTimeInterval(2)
        repeat {
            let entry = try XCTUnwrap(try nl.ipv6Addresses(of: "da0").first { $0.prefix == service }, "the address vanished")
            XCTAssertTrue(entry.isNoDAD)
            XCTAssertFalse(entry.isTentative, "tentative after \(reads) reads")
            XCTAssertFalse(entry.isDADFailed, "dadfailed after \(reads) reads")
            reads += 1
        } while Date() < deadline
        XCTAssertTrue(try spaces.ip(a, "-6", "addr", "show", "dev", "da0").contains("2001:db8:1::11/64 scope global nodad"))

        // A duplicate added the ordinary way is tentative first and then fails DAD: the checks above can fail.
        try spaces.ip(c, "addr", "add", "2001:db8:1::21/64", "dev", "dc0", "nodad")
        try spaces.ip(a, "addr", "add", "2001:db8:1::21/64", "dev", "da0")
        let plain = IPv6Prefix("2001:db8:1::21/64")!
        XCTAssertTrue(try XCTUnwrap(try nl.ipv6Addresses(of: "da0").first { $0.prefix == plain }).isTentative)
        XCTAssertTrue(try waitFor(5) { try nl.ipv6Addresses(of: "da0").first { $0.prefix == plain }?.isDADFailed == true })
    }

    func testUnsolicitedNAMovesTheNeighboursEntryWithOverride() throws {
        let a = try spaces.make("na"), c = try spaces.make("nc")
        try pair(a, "na0", c, "nc0")
        let server = try NetworkNamespace.run(a) { try Netlink() }
        try server.addIPv6Address(IPv6Prefix("2001:db8:1::11/64")!, to: "na0")
        try spaces.ip(c, "addr", "add", "2001:db8:1::99/64", "dev", "nc0", "nodad")
        XCTAssertTrue(waitFor(5) { spaces.pings6(from: c, to: "2001:db8:1::11") })
        let original = try XCTUnwrap(server.link(named: "na0")?.mac)
        func clientEntry() throws -> String { try spaces.ip(c, "-6", "neigh", "show", "2001:db8:1::11", "dev", "nc0") }
        let first = try clientEntry()
        XCTAssertTrue(first.contains("lladdr \(original)"), first)

        // tcpdump in the client's namespace sees what the LAN sees.
        let capture = Process()
        capture.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        capture.arguments = ["netns", "exec", c, "tcpdump", "-l", "-n", "-vv", "-i", "nc0", "-Z", "root",
                             "icmp6 and ip6[40] == 136"]
        let out = Pipe()
        capture.standardOutput = out
        capture.standardError = Pipe()
        try capture.run()
        defer { if capture.isRunning { capture.terminate() }; capture.waitUntilExit() }
        let lines = LineCollector(out.fileHandleForReading)
        // tcpdump is listening once it has opened the interface; give it a probe frame to prove it.
        let announcer = GratuitousARP()
        let moved = MACAddress("02:00:5e:00:53:0b")!
        let target = IPv6Address("2001:db8:1::11")!
        XCTAssertTrue(waitFor(10, interval: 0.05) {
            try? NetworkNamespace.run(a) { try announcer.announceNA(address: IPv6Address("2001:db8:1::77")!, mac: original, on: "na0", count: 1, intervalMillis: 0) }
            return lines.snapshot.contains { $0.contains("tgt is 2001:db8:1::77") }
        }, "tcpdump never saw the probe NA")

        let count = 3
        try NetworkNamespace.run(a) { try announcer.announceNA(address: target, mac: moved, on: "na0", count: count, intervalMillis: 20) }
        XCTAssertTrue(try waitFor(5) { try clientEntry().contains("lladdr \(moved)") }, "the client kept \((try? clientEntry()) ?? "")")
        XCTAssertTrue(waitFor(5) { lines.snapshot.filter { $0.contains("tgt is 2001:db8:1::11") }.count >= count })
        // A fourth would arrive 20 ms after the third; none may come within 10 times that.
        XCTAssertFalse(waitFor(0.2) { lines.snapshot.filter { $0.contains("tgt is 2001:db8:1::11") }.count > count })
        let seen = lines.snapshot.filter { $0.contains("tgt is 2001:db8:1::11") }
        XCTAssertEqual(seen.count, count, seen.joined(separator: "\n"))
        for line in seen {
            XCTAssertTrue(line.contains("hlim 255"), line)
            XCTAssertTrue(line.contains("2001:db8:1::11 > ff02::1"), line)
            XCTAssertTrue(line.contains("Flags [override]"), line)
            XCTAssertTrue(line.contains("icmp6 sum ok"), line)
        }
    }

    func testSiblingProxiesAnAddressAndRestoresItsKernelStateExactly() throws {
        let c = try spaces.make("pc"), sib = try spaces.make("ps"), srv = try spaces.make("pv")
        try pair(c, "pc0", sib, "lan0")
        try pair(sib, "priv0", srv, "srv0")
        try spaces.ip(c, "addr", "add", "2001:db8:1::99/64", "dev", "pc0", "nodad")
        try spaces.ip(sib, "addr", "add", "2001:db8:1::2/64", "dev", "lan0", "nodad")
        try spaces.ip(sib, "addr", "add", "fe80::1/64", "dev", "priv0", "nodad")
        try spaces.ip(srv, "addr", "add", "2001:db8:1::12/128", "dev", "srv0", "nodad")
        try spaces.ip(srv, "-6", "route", "add", "default", "via", "fe80::1", "dev", "srv0")
        let sysctlDump = { try self.spaces.exec(sib, "sh", "-c", "sysctl -a -r '^net\\.ipv6\\.(conf|neigh)\\.' 2>/dev/null") }
        let before = try sysctlDump()
        XCTAssertFalse(spaces.pings6(from: c, to: "2001:db8:1::12"), "nothing carries the address yet")

        let nl = try NetworkNamespace.run(sib) { try Netlink() }
        let store = ProcSysctl(namespace: sib)
        let service = IPv6Address("2001:db8:1::12")!
        let route = KernelIPv6Route(destination: IPv6Prefix(address: service, length: 128), device: "priv0")
        var changes = SysctlChanges()
        let settings = IPv6SiblingSysctls.settings(master: "lan0", link: "priv0", interfaces: try store.names(under: "net/ipv6/conf"),
                                                   acceptRA: try store.read("net/ipv6/conf/lan0/accept_ra"), forceForwarding: false)
        try changes.apply(settings, to: store)
        try nl.addIPv6ProxyNeighbour(service, on: "lan0")
        try nl.addIPv6Route(route)
        XCTAssertEqual(try nl.ipv6ProxyNeighbours(on: "lan0"), [service])
        XCTAssertTrue(try nl.ipv6Routes().contains(route))
        XCTAssertTrue(try spaces.ip(sib, "-6", "neigh", "show", "proxy").contains("2001:db8:1::12 dev lan0 proxy"))

        XCTAssertTrue(waitFor(10, interval: 0) { spaces.pings6(from: c, to: "2001:db8:1::12") }, "the sibling does not carry the address")
        let sibMAC = try XCTUnwrap(nl.link(named: "lan0")?.mac)
        XCTAssertTrue(try spaces.ip(c, "-6", "neigh", "show", "2001:db8:1::12").contains("lladdr \(sibMAC)"))

        try nl.deleteIPv6Route(route)
        try nl.deleteIPv6ProxyNeighbour(service, on: "lan0")
        try changes.restore(to: store)
        XCTAssertEqual(try nl.ipv6ProxyNeighbours(on: "lan0"), [])
        XCTAssertFalse(try nl.ipv6Routes().contains(route))
        XCTAssertEqual(try sysctlDump(), before, "the sibling's IPv6 sysctls differ after the restore")
        try spaces.ip(c, "-6", "neigh", "flush", "dev", "pc0")
        XCTAssertFalse(spaces.pings6(from: c, to: "2001:db8:1::12"), "the sibling still carries the address")
    }

    /// Two masters of the same node, created apart with different MACs, get the
    /// same link-local address; with the kernel's default they would not.
    func testMasterLinkLocalIsTheSameWhateverTheMAC() throws {
        func linkLocal(_ suffix: String, mac: String, settings: Bool) throws -> String {
            let ns = try spaces.make(suffix)
            try spaces.ip(ns, "link", "add", "hanet0", "address", mac, "type", "veth", "peer", "name", "hanet0p")
            if settings {
                try ProcSysctl(namespace: ns).write(IPv6Hygiene.masterSettings(master: "hanet0", node: "s1"))
            }
            try spaces.ip(ns, "link", "set", "hanet0p", "up")
            try spaces.ip(ns, "link", "set", "hanet0", "up")
            var text = ""
            XCTAssertTrue(try waitFor(5) {
                text = try spaces.ip(ns, "-6", "-br", "addr", "show", "dev", "hanet0")
                return text.contains("fe80::")
            }, text)
            return String(text.split(separator: " ", omittingEmptySubsequences: true).first { $0.hasPrefix("fe80::") } ?? "")
        }
        let a = try linkLocal("la", mac: "02:00:00:00:00:a1", settings: true)
        let b = try linkLocal("lb", mac: "02:00:00:00:00:b2", settings: true)
        XCTAssertEqual(a, b)
        XCTAssertFalse(a.isEmpty)
        XCTAssertNotEqual(try linkLocal("lc", mac: "02:00:00:00:00:c3", settings: false), a, "the default follows the MAC")
    }
}

/// Lines read from a pipe on a background thread, for a child that keeps running.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self, !data.isEmpty else { h.readabilityHandler = nil; return }
            self.lock.lock(); defer { self.lock.unlock() }
            self.partial += String(decoding: data, as: UTF8.self)
            while let nl = self.partial.firstIndex(of: "\n") {
                self.lines.append(String(self.partial[..<nl]))
                self.partial = String(self.partial[self.partial.index(after: nl)...])
            }
        }
    }

    var snapshot: [String] {
        lock.lock(); defer { lock.unlock() }
        return lines
    }
}
