import Foundation
import HANetCore
import XCTest
@testable import HANetDaemon

/// `hanet status --json` is a documented interface: a status encoded as the control
/// socket encodes it (sorted keys) must come out byte for byte as below, with the
/// enums' raw values (Health, LinkRole, LinkLayer, LinkFlag) where the JSON has text.
final class StatusJSONTests: XCTestCase {
    static func sample() -> DaemonStatus {
        let carrier = DaemonStatus.Detector(name: "carrier", plugin: "carrier", health: Health.good.rawValue, reason: "carrier up",
                                            age_s: 1.5, interval_ms: 0, probes_sent: nil, replies: nil, last_reply_age_s: nil,
                                            polls: nil, slow_polls: nil, longest_poll_ms: nil)
        let arp = DaemonStatus.Detector(name: "arp-monitor", plugin: "arp-monitor", health: Health.bad.rawValue, reason: "no reply",
                                        age_s: nil, interval_ms: 100, probes_sent: 10, replies: 7, last_reply_age_s: 0.25,
                                        polls: 12, slow_polls: 1, longest_poll_ms: 6.5)
        let eth0 = DaemonStatus.Link(interface: "eth0", type: "ethernet", role: LinkRole.public.rawValue, layer: LinkLayer.l2.rawValue,
                                     speed_bps: 1_000_000_000, priority: 10, header_len: 14, addr_len: 6, mtu: 1500,
                                     mac: "02:00:00:00:00:01", carrier: true,
                                     flags: LinkFlag.names(active: true, health: .good), health: Health.good.rawValue,
                                     reason: "carrier up", detectors: [carrier])
        let priv0 = DaemonStatus.Link(interface: "priv0", type: "ppp-serial", role: LinkRole.private.rawValue, layer: LinkLayer.l3.rawValue,
                                      speed_bps: 9600, priority: 0, header_len: 4, addr_len: 0, mtu: 1500, mac: nil, carrier: false,
                                      flags: LinkFlag.names(active: false, health: .bad), health: Health.bad.rawValue,
                                      reason: "no reply", detectors: [arp])
        var st = DaemonStatus(
            node: "s1", pid: 42, started: "2026-01-02T03:04:05.678Z",
            master: .init(name: "hanet0", port: "hanet0p", addresses: ["198.51.100.11/24"], mtu: 1500, mac: "02:00:00:00:00:01",
                          noarp: false, txqueuelen: 1000, layer: LinkLayer.l2.rawValue),
            active: "eth0", links: [eth0, priv0],
            last_switch: .init(time: "2026-01-02T03:04:06Z", from: nil, to: "eth0", reason: "first GOOD slave",
                               trigger_to_rules_us: 1080.5, trigger_to_done_us: nil, trigger_monotonic_ns: 7),
            switches: 1, adopted: false,
            pta: .init(serving: [.init(sibling: "s2", addresses: ["198.51.100.12"], link: "priv0", since: "2026-01-02T03:04:07Z",
                                       since_monotonic_ns: 9)],
                       served_by: .init(sibling: "s3", addresses: ["198.51.100.11"], state: "served", since: nil)))
        st.hotplug = [.init(time: "2026-01-02T03:04:08Z", monotonic_ns: 11, action: "attached", interface: "usb0", type: "usbnet",
                            sibling: nil, reason: nil, uevent_monotonic_ns: 10)]
        st.siblings = [.init(name: "s2", ready: true, readiness: "ready", reason: "can carry", links: ["priv0"], last_heard_s: nil,
                             serves_us: false, we_serve: true, preference: 0)]
        st.refused = ["pta-bad-mac": 0, "control-not-root": 3]
        return st
    }

    static let expected = #"""
    {"active":"eth0","adopted":false,"hotplug":[{"action":"attached","interface":"usb0","monotonic_ns":11,"time":"2026-01-02T03:04:08Z","type":"usbnet","uevent_monotonic_ns":10}],"last_switch":{"reason":"first GOOD slave","time":"2026-01-02T03:04:06Z","to":"eth0","trigger_monotonic_ns":7,"trigger_to_rules_us":1080.5},"links":[{"addr_len":6,"carrier":true,"detectors":[{"age_s":1.5,"health":"GOOD","interval_ms":0,"name":"carrier","plugin":"carrier","reason":"carrier up"}],"flags":["ACTIVE","GOOD"],"header_len":14,"health":"GOOD","interface":"eth0","layer":"L2","mac":"02:00:00:00:00:01","mtu":1500,"priority":10,"reason":"carrier up","role":"public","speed_bps":1000000000,"type":"ethernet"},{"addr_len":0,"carrier":false,"detectors":[{"health":"BAD","interval_ms":100,"last_reply_age_s":0.25,"longest_poll_ms":6.5,"name":"arp-monitor","plugin":"arp-monitor","polls":12,"probes_sent":10,"reason":"no reply","replies":7,"slow_polls":1}],"flags":[],"header_len":4,"health":"BAD","interface":"priv0","layer":"L3","mtu":1500,"priority":0,"reason":"no reply","role":"private","speed_bps":9600,"type":"ppp-serial"}],"master":{"addresses":["198.51.100.11\/24"],"layer":"L2","mac":"02:00:00:00:00:01","mtu":1500,"name":"hanet0","noarp":false,"port":"hanet0p","txqueuelen":1000},"node":"s1","pid":42,"pta":{"served_by":{"addresses":["198.51.100.11"],"sibling":"s3","state":"served"},"serving":[{"addresses":["198.51.100.12"],"link":"priv0","sibling":"s2","since":"2026-01-02T03:04:07Z","since_monotonic_ns":9}]},"refused":{"control-not-root":3,"pta-bad-mac":0},"siblings":[{"links":["priv0"],"name":"s2","preference":0,"readiness":"ready","ready":true,"reason":"can carry","serves_us":false,"we_serve":true}],"started":"2026-01-02T03:04:05.678Z","switches":1}
    """#

    func testStatusJSONIsByteForByteTheDocumentedOne() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = String(decoding: try enc.encode(Self.sample()), as: UTF8.self)
        XCTAssertEqual(json, Self.expected)
        XCTAssertEqual(try JSONDecoder().decode(DaemonStatus.self, from: Data(Self.expected.utf8)), Self.sample())
    }

    func testLinkFlagsAreTheEnumsRawValuesInOrder() {
        XCTAssertEqual(LinkFlag.names(active: true, health: .good), ["ACTIVE", "GOOD"])
        XCTAssertEqual(LinkFlag.names(active: true, health: .bad), ["ACTIVE"])
        XCTAssertEqual(LinkFlag.names(active: false, health: .good), ["GOOD"])
        XCTAssertEqual(LinkFlag.names(active: false, health: .unknown), [])
        XCTAssertEqual(Self.sample().links[0].linkFlags, [.active, .good])
        var future = Self.sample().links[0]
        future.flags.append("DRAINING")
        XCTAssertEqual(future.linkFlags, [.active, .good], "a flag this client does not know is skipped, not an error")
    }

    /// The JSON's text fields take exactly the enums' raw values.
    func testEnumRawValuesAreTheDocumentedText() {
        XCTAssertEqual([Health.unknown, .good, .bad].map(\.rawValue), ["UNKNOWN", "GOOD", "BAD"])
        XCTAssertEqual([LinkRole.public, .private].map(\.rawValue), ["public", "private"])
        XCTAssertEqual([LinkLayer.l2, .l3].map(\.rawValue), ["L2", "L3"])
    }
}
