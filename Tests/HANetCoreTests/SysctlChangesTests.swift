import XCTest
@testable import HANetCore

final class SysctlChangesTests: XCTestCase {
    /// A /proc/sys stand-in with the one side effect that matters here:
    /// conf/all/forwarding sets every interface's forwarding.
    final class FakeSysctl: SysctlStore {
        var values: [String: String]
        var failOn: String?
        init(_ values: [String: String]) { self.values = values }
        func read(_ path: String) throws -> String {
            guard let v = values[path] else { throw HANetError(.notFound, "sysctl \(path): no such key") }
            return v
        }
        func write(_ path: String, _ value: String) throws {
            guard values[path] != nil else { throw HANetError(.notFound, "sysctl \(path): no such key") }
            if path == failOn { throw HANetError(.kernel, "sysctl \(path): refused") }
            values[path] = value
            if path == "net/ipv6/conf/all/forwarding" {
                for k in values.keys where k.hasPrefix("net/ipv6/conf/") && k.hasSuffix("/forwarding") { values[k] = value }
            }
        }
    }

    static let initial: [String: String] = [
        "net/ipv6/conf/all/forwarding": "0", "net/ipv6/conf/default/forwarding": "0",
        "net/ipv6/conf/hanet0/forwarding": "0", "net/ipv6/conf/priv0/forwarding": "0",
        "net/ipv6/conf/eth9/forwarding": "1",          // set by someone else: must come back as 1
        "net/ipv6/conf/hanet0/accept_ra": "1",
        "net/ipv6/conf/hanet0/proxy_ndp": "0", "net/ipv6/conf/priv0/proxy_ndp": "0",
        "net/ipv6/neigh/hanet0/proxy_delay": "80", "net/ipv6/neigh/priv0/proxy_delay": "80",
        "net/ipv6/conf/hanet0/force_forwarding": "0", "net/ipv6/conf/priv0/force_forwarding": "0",
    ]
    static let interfaces = ["all", "default", "hanet0", "priv0", "eth9"]

    func testGlobalForwardingIsRestoredExactlyIncludingSideEffects() throws {
        let store = FakeSysctl(Self.initial)
        var changes = SysctlChanges()
        let settings = IPv6SiblingSysctls.settings(master: "hanet0", link: "priv0", interfaces: Self.interfaces,
                                                   acceptRA: "1", forceForwarding: false)
        XCTAssertEqual(settings.map(\.path), [
            "net/ipv6/conf/hanet0/accept_ra", "net/ipv6/conf/all/forwarding",
            "net/ipv6/conf/hanet0/proxy_ndp", "net/ipv6/neigh/hanet0/proxy_delay",
            "net/ipv6/conf/priv0/proxy_ndp", "net/ipv6/neigh/priv0/proxy_delay",
        ])
        try changes.apply(settings, to: store)
        XCTAssertEqual(store.values["net/ipv6/conf/hanet0/accept_ra"], "2")
        XCTAssertEqual(store.values["net/ipv6/conf/priv0/forwarding"], "1")
        XCTAssertEqual(store.values["net/ipv6/neigh/priv0/proxy_delay"], "0")
        // Applying again (a second served sibling) keeps the first originals.
        try changes.apply(settings, to: store)
        try changes.restore(to: store)
        XCTAssertEqual(store.values, Self.initial)
        XCTAssertTrue(changes.isEmpty)
    }

    func testForceForwardingLeavesGlobalForwardingAlone() throws {
        let store = FakeSysctl(Self.initial)
        var changes = SysctlChanges()
        let settings = IPv6SiblingSysctls.settings(master: "hanet0", link: "priv0", interfaces: Self.interfaces,
                                                   acceptRA: "1", forceForwarding: true)
        XCTAssertFalse(settings.contains { $0.path.contains("/all/") || $0.path.hasSuffix("accept_ra") })
        try changes.apply(settings, to: store)
        XCTAssertEqual(store.values["net/ipv6/conf/all/forwarding"], "0")
        XCTAssertEqual(store.values["net/ipv6/conf/priv0/force_forwarding"], "1")
        try changes.restore(to: store)
        XCTAssertEqual(store.values, Self.initial)
    }

    func testAFailedApplyLeavesNothingChanged() {
        let store = FakeSysctl(Self.initial)
        store.failOn = "net/ipv6/conf/priv0/proxy_ndp"
        var changes = SysctlChanges()
        XCTAssertThrowsError(try changes.apply(IPv6SiblingSysctls.settings(master: "hanet0", link: "priv0", interfaces: Self.interfaces,
                                                                           acceptRA: "1", forceForwarding: false), to: store)) {
            XCTAssertTrue("\($0)".contains("priv0/proxy_ndp"), "\($0)")
        }
        XCTAssertEqual(store.values, Self.initial)
        XCTAssertTrue(changes.isEmpty)
    }

    func testMasterLinkLocalSecretIsPerNodeAndStable() {
        let s1 = IPv6Hygiene.stableSecret(node: "s1")
        XCTAssertEqual(s1, IPv6Hygiene.stableSecret(node: "s1"))
        XCTAssertNotEqual(s1, IPv6Hygiene.stableSecret(node: "s2"))
        XCTAssertEqual(IPv6Hygiene.masterSettings(master: "hanet0", node: "s1").map(\.path),
                       ["net/ipv6/conf/hanet0/stable_secret", "net/ipv6/conf/hanet0/addr_gen_mode"])
        XCTAssertEqual(IPv6Hygiene.masterSettings(master: "hanet0", node: "s1")[0].value, s1.description)
    }
}

