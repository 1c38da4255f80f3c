import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// One node of a decision test: a real `Daemon` built on the fakes and an
/// `EmbeddedExecutor`, so nothing runs until the cluster says so and time
/// moves only when the test advances the shared clock.
final class DecisionNode {
    let name: String
    let kernel = FakeKernel()
    let dataPlane = FakeDataPlane()
    let sysctl = FakeSysctl()
    let announcer = FakeAnnouncer()
    let linkTypes = FakeLinkTypes()
    let detectors = FakeDetectors()
    let linkEvents = FakeEventSource()
    let deviceEvents = FakeEventSource()
    let routingEngine = FakeRoutingEngine()
    let executor: EmbeddedExecutor
    let clock: ManualClock
    var socket: FakePTASocket?
    var daemon: Daemon!
    let configText: String
    let dir: String

    init(name: String, config: String, clock: ManualClock, wire: FakeWire, dir: String) {
        self.name = name
        self.clock = clock
        self.dir = dir
        configText = config
        executor = EmbeddedExecutor(clock: clock)
        for l in ["eth0", "eth1", "priv0"] { kernel.add(l) }
        var env = DaemonEnvironment(kernel: kernel, dataPlane: dataPlane, sysctl: sysctl, announcer: announcer, clock: clock)
        let executor = self.executor
        env.makeExecutor = { _ in executor }
        env.checkKernel = {}
        env.linkEvents = { [linkEvents] _, _ in linkEvents }
        env.deviceEvents = { [deviceEvents] _ in deviceEvents }
        env.routingEngine = { [routingEngine] _ in routingEngine }
        wire.nodes[name] = FakeWire.Attached(kernel: kernel)
        env.ptaTransport = { [weak self] _, _, receive in
            let s = FakePTASocket(node: name, wire: wire, receive: receive)
            wire.nodes[name]?.socket = s
            self?.socket = s
            return s
        }
        self.env = env
    }

    private var env: DaemonEnvironment!

    /// Parses the config and starts the daemon (nothing runs until the cluster runs).
    func start() throws {
        let file = "\(dir)/\(name).toml"
        try configText.write(toFile: file, atomically: true, encoding: .utf8)
        let config = try HANetConfig.parse(configText, file: file)
        try FileManager.default.createDirectory(atPath: "\(dir)/plugins", withIntermediateDirectories: true)
        daemon = Daemon(config: config, environment: env,
                        options: DaemonOptions(socketPath: "", pluginsDir: "\(dir)/plugins", stateDir: "\(dir)/state-\(name)",
                                               environment: ["HANET_LOG_LEVEL": "error"]),
                        linkTypes: linkTypes, detectors: detectors)
        try daemon.start()
    }

    var switcher: Switcher { daemon.switcher }
    var active: String? { executor.sync { daemon.active } }
    var status: DaemonStatus { daemon.status() }

    /// A raw verdict from `type` (default: the carrier detector) on `slave`, caused now.
    func report(_ slave: String, _ health: Health, _ type: String = "carrier", reason: String? = nil) {
        detectors.report(slave, type, health, reason ?? "\(type) says \(health.rawValue)", at: clock.nowNanos())
    }

    /// Carrier lost or back: the kernel's notification reaches the switcher,
    /// and the carrier detector reports as the real one would.
    func carrier(_ slave: String, _ up: Bool) {
        let link = kernel.setCarrier(slave, up)
        let at = clock.nowNanos()
        daemon.submit(.link(KernelLinkEvent(link: link, removed: false, timestampNanos: at)))
        detectors.report(slave, "carrier", up ? .good : .bad, up ? "carrier up" : "carrier lost", at: at)
    }

    /// The forwarding plans applied so far, by active slave.
    var planned: [String?] { dataPlane.plans.map(\.active) }
}

/// Nodes sharing one clock and one PTA wire; `run` and `advance` drive every node's executor.
final class DecisionCluster {
    let clock = ManualClock(now: 5_000_000_000)
    let wire = FakeWire()
    var nodes: [String: DecisionNode] = [:]
    let dir: String
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

    init() throws {
        dir = NSTemporaryDirectory() + "hanet-decisions-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "\(key)\n".write(toFile: "\(dir)/pair.key", atomically: true, encoding: .utf8)
        chmod("\(dir)/pair.key", 0o600)
    }

    deinit {
        for n in nodes.values { n.daemon?.stop(teardown: false) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The s1/s2 pair of the scenario tests: two public links each, a private link to the other.
    static func pairConfig(_ node: String, dir: String, extraMaster: String = "", extraLinks: String = "",
                           extra: String = "", detectors: String = #"["carrier"]"#, privateLink: Bool = true) -> String {
        let (addr, other, mine, theirs, otherAddr) = node == "s1"
            ? ("198.51.100.11", "s2", "169.254.77.1", "169.254.77.2", "198.51.100.12")
            : ("198.51.100.12", "s1", "169.254.77.2", "169.254.77.1", "198.51.100.11")
        var text = """
        [node]
        name = "\(node)"

        [master]
        name = "hanet0"
        addresses = ["\(addr)/24"]
        \(extraMaster)

        [[link]]
        interface = "eth0"
        type = "ethernet"
        role = "public"
        detectors = \(detectors)

        [[link]]
        interface = "eth1"
        type = "ethernet"
        role = "public"
        detectors = \(detectors)
        \(extraLinks)

        """
        if privateLink {
            text += """

            [[link]]
            interface = "priv0"
            type = "ethernet"
            role = "private"
            sibling = "\(other)"
            address = "\(mine)/30"
            detectors = ["carrier"]

            [[sibling]]
            name = "\(other)"
            address = "\(theirs)"
            key_file = "\(dir)/pair.key"
            addresses = ["\(otherAddr)/32"]

            """
        }
        return text + extra
    }

    @discardableResult
    func add(_ name: String, config: String? = nil, privateLink: Bool = true) -> DecisionNode {
        let n = DecisionNode(name: name, config: config ?? Self.pairConfig(name, dir: dir, privateLink: privateLink),
                             clock: clock, wire: wire, dir: dir)
        nodes[name] = n
        return n
    }

    subscript(name: String) -> DecisionNode { nodes[name]! }

    /// Starts the nodes, then lets every slave's first verdict (GOOD unless
    /// `down` names it) reach them and the first decision happen.
    func start(_ names: [String], down: Set<String> = []) throws {
        for n in names { try nodes[n]!.start() }
        for n in names {
            let node = nodes[n]!
            for l in node.switcher.slaves.map(\.name) {
                node.report(l, down.contains("\(n).\(l)") ? .bad : .good)
            }
        }
        run()
    }

    /// Runs every node's queued work (and what it causes on the others) until all are idle.
    func run() {
        var again = true
        while again {
            again = false
            for n in nodes.values {
                let before = n.executor.ranCount
                n.executor.run()
                if n.executor.ranCount != before { again = true }
            }
        }
    }

    /// Moves the shared clock forward, firing every node's timers at their deadlines.
    func advance(millis: UInt64) {
        let target = clock.now + millis * 1_000_000
        run()
        while let next = nodes.values.compactMap({ $0.executor.nextDeadline }).min(), next <= target {
            if next > clock.now { clock.now = next }
            run()
        }
        clock.now = max(clock.now, target)
        run()
    }
}

/// A decision test: a fresh cluster (temporary directory, clock, wire) for each test.
class DecisionTestCase: XCTestCase {
    var cluster: DecisionCluster!

    override func setUpWithError() throws {
        cluster = try DecisionCluster()
    }

    override func tearDown() {
        cluster = nil
    }
}
