import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// The seven built-in plugins, loaded from where SwiftPM built them (the
/// products folder, which is the folder of the running .xctest).
final class PluginHostTests: XCTestCase {
    var host: PluginHost!
    var logs: [(String, Int32, String)] = []
    let logLock = NSLock()

    override func setUpWithError() throws {
        host = PluginHost { [unowned self] plugin, level, message in
            logLock.lock()
            logs.append((plugin, level, message))
            logLock.unlock()
        }
        let dir = try PluginTestKit.productsDirectory()
        host.load(from: PluginSearchPath(directory: dir, source: .buildTree), disabled: [])
    }

    func testEveryBuiltinPluginLoadsAndDescribesItself() throws {
        let records = host.records
        XCTAssertEqual(Set(records.compactMap(\.id)), Set(PluginTestKit.builtinPluginIDs), "records: \(records)")
        XCTAssertEqual(records.count, PluginTestKit.builtinPluginIDs.count, "only libhanet-plugin-*.so files are candidates in a build tree: \(records.map(\.file))")
        for r in records {
            XCTAssertEqual(r.state, .enabled, "\(r.file): \(r.reason ?? "")")
            XCTAssertNil(r.reason)
            XCTAssertEqual(r.abiMajor, 1)
            XCTAssertEqual(r.abiMinor, 0, "built-in plugins require 1.0: later services are checked with HANET_HOST_API_HAS")
            XCTAssertNotNil(r.version)
            XCTAssertFalse(r.description?.isEmpty ?? true)
            XCTAssertTrue(r.file.hasSuffix("libhanet-plugin-\(r.id!).so"), r.file)
        }
        func rec(_ id: String) -> PluginRecord { records.first { $0.id == id }! }
        for id in ["ethernet", "usbnet", "ieee1394"] {
            XCTAssertEqual(rec(id).kinds, ["link"])
            XCTAssertEqual(rec(id).linkTypes, [id])
            XCTAssertEqual(rec(id).detectorTypes, [])
        }
        XCTAssertEqual(Set(rec("ppp-serial").kinds), ["link", "detector"])
        XCTAssertEqual(rec("ppp-serial").linkTypes, ["ppp-serial"])
        XCTAssertEqual(rec("ppp-serial").detectorTypes, ["ppp-echo"])
        for id in ["carrier", "arp-monitor", "ns-monitor", "ping-file"] {
            XCTAssertEqual(rec(id).kinds, ["detector"])
            XCTAssertEqual(rec(id).detectorTypes, [id])
        }
        for id in PluginTestKit.builtinPluginIDs {
            XCTAssertFalse(rec(id).types.first!.flags.contains("unavailable"), id)
        }
        XCTAssertEqual(rec("carrier").types.first?.defaultIntervalMillis, 0)
        XCTAssertEqual(rec("arp-monitor").types.first?.flags, ["needs-l2"])
        XCTAssertEqual(rec("ns-monitor").types.first?.flags, ["needs-l2"])
        XCTAssertEqual(Set(host.linkTypeNames()), ["ethernet", "usbnet", "ppp-serial", "ieee1394"])
        XCTAssertEqual(Set(host.detectorTypeNames()), ["carrier", "arp-monitor", "ns-monitor", "ping-file", "ppp-echo"])
    }

    /// Package.swift's `builtinPlugins` is the one list: every plugin folder is on it (a folder
    /// left off would be neither built nor installed), and each id names a folder with C sources.
    /// (testEveryBuiltinPluginLoadsAndDescribesItself holds it against what SwiftPM built.)
    func testBuiltinListNamesEveryPluginFolder() throws {
        let ids = PluginTestKit.builtinPluginIDs
        XCTAssertFalse(ids.isEmpty, "no one-line `let builtinPlugins = [...]` in Package.swift")
        XCTAssertEqual(ids.count, Set(ids).count, "a plugin is listed twice: \(ids)")
        let root = PluginTestKit.packageRoot + "/Plugins"
        let folders = try FileManager.default.contentsOfDirectory(atPath: root).filter { name in
            var isDir: ObjCBool = false
            return name != "support" && FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir) && isDir.boolValue
        }
        XCTAssertEqual(Set(folders), Set(ids))
        for id in ids {
            let sources = try FileManager.default.contentsOfDirectory(atPath: root + "/" + id).filter { $0.hasSuffix(".c") }
            XCTAssertFalse(sources.isEmpty, "Plugins/\(id) has no C source")
        }
    }

    func testProbePicksTheMostSpecificLinkType() {
        XCTAssertEqual(host.probe(DeviceInfo(name: "eth9", arphrd: 1, driver: "veth")), "ethernet")
        XCTAssertEqual(host.probe(DeviceInfo(name: "usb0", arphrd: 1, driver: "cdc_ether")), "usbnet", "usbnet (100) beats ethernet (1)")
        XCTAssertEqual(host.probe(DeviceInfo(name: "usb1", arphrd: 1, driver: "rndis_host")), "usbnet")
        XCTAssertEqual(host.probe(DeviceInfo(name: "v1", arphrd: 1, driver: "veth", properties: ["HANET_LINK_TYPE": "usbnet"])), "usbnet")
        XCTAssertEqual(host.probe(DeviceInfo(name: "fw0", arphrd: 24, driver: "firewire_net")), "ieee1394")
        XCTAssertEqual(host.probe(DeviceInfo(name: "ttyS0", subsystem: "tty")), "ppp-serial")
        XCTAssertNil(host.probe(DeviceInfo(name: "lo", arphrd: 772)), "nothing claims a loopback device")
    }

    func testEthernetDescribesFromSysfs() throws {
        let missing = try host.describe(linkType: "ethernet", device: DeviceInfo(name: "hnt-nosuch0", arphrd: 1), config: [:])
        XCTAssertEqual(missing, LinkAttributes(layer: .l2, defaultRole: .public, arphrd: 1, headerLength: 14, addressLength: 6,
                                               mtu: 0, speedBitsPerSecond: 0))
        // `lo` is in every namespace, so this runs everywhere: described as an Ethernet device
        // (the plugin checks the ARPHRD it is given, then reads sysfs by name), its MTU must be
        // what /sys/class/net/lo/mtu says (65536 on Linux, never the 0 of a missing device).
        let sysfsMTU = try XCTUnwrap(UInt32(String(contentsOfFile: "/sys/class/net/lo/mtu", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertGreaterThan(sysfsMTU, 0)
        let lo = try host.describe(linkType: "ethernet", device: DeviceInfo(name: "lo", arphrd: 1), config: [:])
        XCTAssertEqual(lo.mtu, sysfsMTU)
        XCTAssertEqual(lo.speedBitsPerSecond, 0, "lo has no link speed")
        XCTAssertEqual(lo.layer, .l2)
        XCTAssertEqual(lo.defaultRole, .public)
        XCTAssertThrowsError(try host.describe(linkType: "ethernet", device: DeviceInfo(name: "fw0", arphrd: 24), config: [:])) {
            XCTAssertTrue("\($0)".contains("not an Ethernet device"), "\($0)")
        }
        let link = try host.openLink(type: "ethernet", device: DeviceInfo(name: "hnt-nosuch0", arphrd: 1), config: [:])
        XCTAssertEqual(link.typeName, "ethernet")
        link.close()
    }

    func testUsbnetSpeedAndRole() throws {
        let forced = try host.describe(linkType: "usbnet", device: DeviceInfo(name: "v1", arphrd: 1, properties: ["HANET_SPEED_BPS": "480000000"]), config: [:])
        XCTAssertEqual(forced.layer, .l2)
        XCTAssertEqual(forced.defaultRole, .private)
        XCTAssertEqual(forced.speedBitsPerSecond, 480_000_000)
        let fallback = try host.describe(linkType: "usbnet", device: DeviceInfo(name: "hnt-nousb0", arphrd: 1, driver: "cdc_ether"), config: [:])
        XCTAssertEqual(fallback.speedBitsPerSecond, 12_000_000, "USB 1.1 full speed when nothing better is known")
        XCTAssertThrowsError(try host.describe(linkType: "usbnet", device: DeviceInfo(name: "v1", properties: ["HANET_SPEED_BPS": "fast"]), config: [:])) {
            XCTAssertTrue("\($0)".contains("HANET_SPEED_BPS=\"fast\": expected a positive integer"), "\($0)")
        }
    }

    func testNonEthernetLinkTypesDescribeTruthfully() throws {
        let ppp = try host.describe(linkType: "ppp-serial", device: DeviceInfo(name: "ttyS0", subsystem: "tty"),
                                    config: ["baud": .integer(9600)])
        XCTAssertEqual(ppp, LinkAttributes(layer: .l3, defaultRole: .private, pointToPoint: true, noARP: true, frameIO: true,
                                           arphrd: 512, headerLength: 4, addressLength: 0, mtu: 1500, speedBitsPerSecond: 9600))
        // A kernel PPP netdev (pppd) is L3 too, but the kernel moves its frames.
        XCTAssertFalse(try host.describe(linkType: "ppp-serial", device: DeviceInfo(name: "ppp0", arphrd: 512), config: [:]).frameIO)
        XCTAssertThrowsError(try host.describe(linkType: "ppp-serial", device: DeviceInfo(name: "ttyS0", subsystem: "tty"),
                                               config: ["baud": .string("quick")], allowUnavailable: true)) {
            XCTAssertTrue("\($0)".contains("baud = \"quick\""), "\($0)")
        }
        // IEEE 1394: no FireWire here, so a stand-in DeviceInfo of ARPHRD_IEEE1394 (24); see also LinkTypeScenarioTests.
        let fw = try host.describe(linkType: "ieee1394", device: DeviceInfo(name: "fw0", arphrd: 24), config: [:])
        XCTAssertEqual(fw, LinkAttributes(layer: .l3, defaultRole: .private, noARP: true, arphrd: 24, headerLength: 18,
                                          addressLength: 16, mtu: 1500, speedBitsPerSecond: 400_000_000))
        XCTAssertEqual(try host.describe(linkType: "ieee1394", device: DeviceInfo(name: "fw0", arphrd: 24, properties: ["HANET_SPEED_BPS": "800000000"]),
                                         config: [:]).speedBitsPerSecond, 800_000_000, "S800 from the udev property")
        XCTAssertThrowsError(try host.describe(linkType: "ieee1394", device: DeviceInfo(name: "fw0", arphrd: 24, properties: ["HANET_SPEED_BPS": "S400"]), config: [:])) {
            XCTAssertTrue("\($0)".contains("HANET_SPEED_BPS=\"S400\": expected a positive integer"), "\($0)")
        }
        XCTAssertNoThrow(try host.openLink(type: "ieee1394", device: DeviceInfo(name: "fw0", arphrd: 24), config: [:]).close())
        XCTAssertEqual(host.probe(DeviceInfo(name: "tun9", arphrd: 65534, properties: ["HANET_LINK_TYPE": "ieee1394"])), "ieee1394")
        // The probing detectors refuse to start without their targets, naming the key.
        for (det, key) in [("arp-monitor", "targets"), ("ns-monitor", "targets"), ("ping-file", "file")] {
            XCTAssertThrowsError(try host.createDetector(type: det, slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }) {
                XCTAssertTrue("\($0)".contains("\(det) on lo: `\(key)` is required"), "\($0)")
            }
        }
        for (target, why) in [("198.51.100.1", "is not an IPv6 address"), ("ff02::1", "is not a unicast IPv6 address"),
                              ("fe80::1%eth0", "has a zone")] {
            XCTAssertThrowsError(try host.createDetector(type: "ns-monitor", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil,
                                                         config: ["targets": .array([.string(target)])]) { _, _ in }) {
                XCTAssertTrue("\($0)".contains("ns-monitor on lo: targets: \"\(target)\" \(why)"), "\($0)")
            }
        }
        XCTAssertThrowsError(try host.describe(linkType: "token-ring", device: DeviceInfo(name: "tr0"), config: [:])) {
            XCTAssertEqual(($0 as? HANetError)?.code, .notFound)
        }
    }

    private func event(_ name: String, flags: UInt32, oper: UInt8, removed: Bool = false) -> KernelLinkEvent {
        KernelLinkEvent(link: KernelLink(name: name, index: 42, mac: nil, mtu: 1500, txQueueLength: 1000, flags: flags,
                                         arphrd: 1, operState: oper), removed: removed, timestampNanos: 1)
    }

    func testCarrierReportsInitialStateAndFollowsLinkEvents() throws {
        // `lo` is up with carrier in every namespace; only read through sysfs.
        let rec = ReportRecorder()
        let d = try host.createDetector(type: "carrier", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil,
                                        config: [:], report: rec.callback)
        XCTAssertEqual(d.intervalMillis, 0, "carrier is event-driven by default")
        XCTAssertEqual(d.pluginID, "carrier")
        XCTAssertTrue(rec.waitForLast(.good), "initial verdict from sysfs: \(rec.reports)")
        XCTAssertEqual(rec.last?.reason, "carrier up")

        d.linkEvent(event("lo", flags: 0x1 | 0x40, oper: 2))
        XCTAssertTrue(rec.waitForLast(.bad), "\(rec.reports)")
        XCTAssertEqual(rec.last?.reason, "carrier lost (operstate down)")
        d.linkEvent(event("lo", flags: 0x1 | 0x40, oper: 2)) // same state: not reported again
        d.linkEvent(event("lo", flags: 0x0, oper: 2))
        XCTAssertTrue(rec.wait { $0.last?.reason == "interface down (operstate down)" }, "\(rec.reports)")
        d.linkEvent(event("lo", flags: 0x1 | 0x40 | 0x10000, oper: 6))
        XCTAssertTrue(rec.waitForLast(.good), "\(rec.reports)")
        XCTAssertEqual(rec.reports.map(\.health), [.good, .bad, .bad, .good], "only changes are reported: \(rec.reports)")

        // Polling confirms from sysfs: after a (fake) loss, poll restores the truth.
        d.linkEvent(event("lo", flags: 0x1, oper: 2))
        XCTAssertTrue(rec.waitForLast(.bad))
        d.poll()
        XCTAssertTrue(rec.waitForLast(.good), "poll re-reads /sys/class/net/lo/carrier: \(rec.reports)")

        d.destroy()
        XCTAssertTrue(d.isDestroyed)
        let count = rec.reports.count
        d.linkEvent(event("lo", flags: 0, oper: 2)) // no-op after destroy
        d.poll()
        d.destroy()
        XCTAssertEqual(rec.reports.count, count)
    }

    func testCarrierOnAMissingInterfaceIsBadAtOnce() throws {
        let rec = ReportRecorder()
        let name = "hnt-\(UUID().uuidString.prefix(6).lowercased())-x"
        let d = try host.createDetector(type: "carrier", slave: name, ifindex: 0, layer: .l2, intervalMillis: 100, config: [:], report: rec.callback)
        defer { d.destroy() }
        XCTAssertEqual(d.intervalMillis, 100, "a configured interval turns on polling")
        XCTAssertTrue(rec.waitForLast(.bad))
        XCTAssertEqual(rec.last?.reason, "interface \(name) not found")
    }

    func testDisablingAPluginDestroysItsInstancesAndEnablingBringsTypesBack() throws {
        let rec = ReportRecorder()
        let d = try host.createDetector(type: "carrier", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:], report: rec.callback)
        XCTAssertTrue(rec.waitForLast(.good))
        XCTAssertTrue(host.setEnabled("carrier", false))
        XCTAssertTrue(d.isDestroyed, "disable destroys live instances")
        XCTAssertEqual(host.records.first { $0.id == "carrier" }?.state, .disabled)
        XCTAssertFalse(host.detectorTypeNames().contains("carrier"))
        XCTAssertThrowsError(try host.createDetector(type: "carrier", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }) {
            XCTAssertTrue("\($0)".contains("which is disabled"), "\($0)")
        }
        XCTAssertFalse(host.setEnabled("no-such-plugin", true))
        host.applyDisabled([])
        XCTAssertEqual(host.records.first { $0.id == "carrier" }?.state, .enabled)
        let again = try host.createDetector(type: "carrier", slave: "lo", ifindex: 1, layer: .l2, intervalMillis: nil, config: [:]) { _, _ in }
        again.destroy()
    }

    func testSearchPathPrecedence() {
        let env = ["HANET_PLUGINS_DIR": "/env"]
        XCTAssertEqual(PluginHost.defaultPluginsDirectory(explicit: "/opt", environment: env, configured: "/cfg", executableDirectory: "/exe", installedExists: true),
                       PluginSearchPath(directory: "/opt", source: .option))
        XCTAssertEqual(PluginHost.defaultPluginsDirectory(explicit: nil, environment: env, configured: "/cfg", executableDirectory: "/exe", installedExists: true),
                       PluginSearchPath(directory: "/env", source: .environment))
        XCTAssertEqual(PluginHost.defaultPluginsDirectory(explicit: nil, environment: [:], configured: "/cfg", executableDirectory: "/exe", installedExists: true),
                       PluginSearchPath(directory: "/cfg", source: .config))
        XCTAssertEqual(PluginHost.defaultPluginsDirectory(explicit: nil, environment: [:], configured: nil, executableDirectory: "/exe", installedExists: true),
                       PluginSearchPath(directory: "/usr/lib/hanet/plugins", source: .installed))
        XCTAssertEqual(PluginHost.defaultPluginsDirectory(explicit: nil, environment: [:], configured: nil, executableDirectory: "/exe", installedExists: false),
                       PluginSearchPath(directory: "/exe", source: .buildTree))
        let tree = PluginSearchPath(directory: "/exe", source: .buildTree)
        XCTAssertTrue(tree.isCandidate("libhanet-plugin-carrier.so"))
        XCTAssertFalse(tree.isCandidate("libFoundation.so"))
        XCTAssertTrue(PluginSearchPath(directory: "/p", source: .option).isCandidate("anything.so"))
        XCTAssertFalse(PluginSearchPath(directory: "/p", source: .option).isCandidate("README"))
    }

    func testStateFileRoundTripAndClearErrors() throws {
        let dir = try PluginTestKit.makeTrustedDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = PluginStateFile(directory: dir + "/sub")
        XCTAssertEqual(try f.load(), [], "no file yet: nothing disabled")
        try f.save(disabled: ["carrier", "arp-monitor"])
        XCTAssertEqual(try PluginStateFile(directory: dir + "/sub").load(), ["carrier", "arp-monitor"])
        try "{\"disabled\": 3}".write(toFile: f.path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try f.load()) {
            XCTAssertTrue("\($0)".contains(f.path) && "\($0)".contains("expected {\"disabled\""), "\($0)")
        }
        XCTAssertEqual(PluginStateFile.resolveDirectory(explicit: nil, environment: ["HANET_STATE_DIR": "/s"]), "/s")
        XCTAssertEqual(PluginStateFile.resolveDirectory(explicit: "/x", environment: ["HANET_STATE_DIR": "/s"]), "/x")
        XCTAssertEqual(PluginStateFile.resolveDirectory(explicit: nil, environment: [:]), "/var/lib/hanet")
    }
}
