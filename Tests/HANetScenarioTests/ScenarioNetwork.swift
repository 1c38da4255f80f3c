import Foundation
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// The repository root, for scripts/ and tools/.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The directory with the built `hanet` and plugins: the test bundle sits in it.
let productsDirectory = ProcessSignals.executableDirectory

/// Runs a command and returns its exit status and output.
@discardableResult
func sh(_ command: String, check: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", command]
    p.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    if check && p.terminationStatus != 0 {
        XCTFail("`\(command)` exited \(p.terminationStatus): \(out)", file: file, line: line)
        throw HANetError(.io, "command failed: \(command)")
    }
    return (p.terminationStatus, out)
}

/// Polls `condition` until it holds or `seconds` pass.
func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if (try? condition()) == true { return }
        usleep(20_000)
    }
    throw HANetError(.state, "timed out after \(seconds) s waiting for \(what)")
}

/// A network of namespaces built by scripts/lib/net.sh, torn down in `down()`.
final class ScenarioNetwork {
    let prefix: String
    let work: String
    let pair: Bool
    var processes: [Process] = []

    /// With `pair`, a second server s2 and a private link priv0 between the two, with a shared PTA key.
    /// With `ipv6`, a dual-stack LAN (net_ipv6) and configs with IPv6 service addresses.
    convenience init(pair: Bool = false, ipv6: Bool = false, prefix: String = "hnt") throws {
        try self.init(prefix: prefix, pair: pair, ipv6: ipv6) { p, _ in
            "source scripts/lib/net.sh && net_up \(p) \(pair ? "pair" : "")\(ipv6 ? " && net_ipv6 \(p)" : "")"
        }
    }

    /// A network that the shell command `setup(prefix, work directory)`
    /// builds, with the same names as net.sh: the LAN namespace "lan", LAN
    /// bridge ports "<server>e<N>" for a server's ethN, the client in
    /// namespace `client`. With `pair`, a shared PTA key.
    init(prefix: String, pair: Bool, ipv6: Bool = false, client: String = "client", setup: (String, String) -> String) throws {
        self.pair = pair
        self.ipv6 = ipv6
        self.client = client
        self.prefix = "\(prefix)\(String(UInt32.random(in: 0..<UInt32.max), radix: 36))"
        work = NSTemporaryDirectory() + self.prefix
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        do {
            try sh(setup(self.prefix, work))
            if pair { try sh("source scripts/lib/net.sh && net_key \(keyFile)") }
        } catch {
            down()
            throw error
        }
    }

    let ipv6: Bool
    /// The client's role (its namespace is `ns(client)`).
    let client: String

    var keyFile: String { "\(work)/pta.key" }

    func ns(_ role: String) -> String { "\(prefix)-\(role)" }

    func down() {
        for p in processes where p.isRunning { p.terminate() }
        _ = try? sh("source scripts/lib/net.sh && net_down \(prefix)", check: false)
        try? FileManager.default.removeItem(atPath: work)
    }

    func exec(_ role: String, _ command: String, check: Bool = true) throws -> (status: Int32, out: String) {
        try sh("ip netns exec \(ns(role)) \(command)", check: check)
    }

    /// Starts a long-running process in a namespace; output goes to a file in the work dir.
    @discardableResult
    func spawn(_ role: String, _ name: String, _ command: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "exec ip netns exec \(ns(role)) \(command) >\(work)/\(name).out 2>\(work)/\(name).err"]
        p.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        try p.run()
        processes.append(p)
        return p
    }

    /// Starts nginx on `address`:8080 (an IPv6 address in brackets) in `role`'s namespace and waits until it answers the client.
    func startNginx(_ role: String, address: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "source scripts/lib/net.sh && net_nginx \(ns(role)) \(address) \(work)/nginx-\(role) >\(work)/nginx-\(role).out 2>&1"]
        p.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        try p.run()
        processes.append(p)
        try waitUntil(10, "nginx on \(address)") {
            try exec(client, "curl -gsf -o /dev/null http://\(address):8080/hello", check: false).status == 0
        }
    }

    func output(_ name: String) -> String {
        (try? String(contentsOfFile: "\(work)/\(name).out", encoding: .utf8)) ?? ""
    }

    func errors(_ name: String) -> String {
        (try? String(contentsOfFile: "\(work)/\(name).err", encoding: .utf8)) ?? ""
    }

    func carrier(_ node: String, _ ifname: String, up: Bool) throws {
        try sh("source scripts/lib/net.sh && net_carrier \(prefix) \(node) \(ifname) \(up ? "up" : "down")")
    }

    /// Writes the standard config for `node`, with `extra` appended and `edit` applied.
    func config(_ node: String, edit: (String) -> String = { $0 }) throws -> String {
        let path = "\(work)/\(node).toml"
        try sh("source scripts/lib/net.sh && net_config \(prefix) \(node) \(path) \(pair ? keyFile : "")"
               + (ipv6 ? " && net_config_ipv6 \(prefix) \(node) \(path)" : ""))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try edit(text).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What serving a sibling changes in `node`'s kernel: proxy entries,
    /// routes, forwarding and the proxy ARP sysctls (of the private link
    /// `link` and the master). Tests compare it before and after to prove a
    /// takeover leaves nothing behind.
    func ptaKernelState(_ node: String = "s2", link: String = "priv0") throws -> String {
        let proxy = try exec(node, "ip neigh show proxy").out
        let routes = try exec(node, "ip -4 route show").out
        let sysctls = try exec(node, "sysctl -n net.ipv4.ip_forward net.ipv4.conf.\(link).proxy_arp net.ipv4.neigh.\(link).proxy_delay net.ipv4.neigh.hanet0.proxy_delay").out
        return "proxy:\n\(proxy)routes:\n\(routes)sysctls:\n\(sysctls)"
    }

    func socket(_ node: String) -> String { "/run/hanet/\(prefix)-\(node).sock" }

    /// Starts `hanet run` for `node` and waits until its control socket answers.
    /// `before` runs first in the daemon's own mount namespace (`ip netns exec`
    /// makes one per process), such as a bind mount that wires a device node.
    @discardableResult
    func startDaemon(_ node: String, config: String, name: String? = nil, before: String? = nil) throws -> Process {
        let run = "\(productsDirectory)/hanet run --config \(config) --socket \(socket(node)) --plugins-dir \(productsDirectory)"
        let p = try spawn(node, name ?? "daemon-\(node)", before.map { "/bin/sh -c '\($0) && exec \(run)'" } ?? run)
        try waitUntil(15, "the daemon on \(node) to answer") { (try? status(node)) != nil || !p.isRunning }
        if !p.isRunning { throw HANetError(.state, "the daemon on \(node) exited: \(errors(name ?? "daemon-\(node)"))") }
        return p
    }

    func status(_ node: String) throws -> DaemonStatus {
        guard let s = try ControlProtocol.send(.init(command: "status"), to: socket(node)).status else {
            throw HANetError(.protocolError, "no status")
        }
        return s
    }
}

/// Traffic through a fault, from the client to a server's address.
extension ScenarioNetwork {
    /// nginx, the UDP probe's echo and, with `iperf`, an iperf3 server (for
    /// one client at a time, as many times as asked) on `address` in `node`.
    func serve(_ node: String, _ address: String, iperf: Bool = false) throws {
        try spawn(node, "probe-server-\(node)", "python3 tools/probe.py server --bind \(address)")
        if iperf { try spawn(node, "iperf3-server-\(node)", "iperf3 -s -B \(address)") }
        try startNginx(node, address: address)
    }

    /// For `seconds`, from the client: `connections` keep-alive wrk
    /// connections, the 1 kHz UDP probe and, with `iperf`, one iperf3 TCP
    /// stream, to what `serve` started; returns once all are connected and
    /// the probe has its first answer (the probe's gaps are between answers:
    /// a fault before its first one would not count, and Python takes
    /// hundreds of ms to start beside 400 connections on 2 cores).
    /// The check it returns waits for them to end, asserts that not one
    /// request failed, nothing was reset and the stream carried data, and
    /// returns the probe's longest gap (ms). `tag` names this window's
    /// output files when one network runs several; `timeout` (s) is how
    /// long a request may wait before wrk counts it failed.
    func load(_ node: String, _ address: String, seconds: Int, connections: Int = 400, iperf: Bool = false,
              tag: String = "", timeout: Int = 5) throws -> () throws -> Double {
        let name = { (tool: String) in "\(tool)-\(node)\(tag)" }
        let wrk = try spawn(client, name("wrk"), "wrk -t2 -c\(connections) -d\(seconds)s --timeout \(timeout)s http://\(address):8080/f/4096")
        let probe = try spawn(client, name("probe"), "python3 tools/probe.py udp --to \(address) --duration \(seconds) --say-answered")
        // 1 Gbit/s, not line rate: an unlimited stream over veths keeps a
        // core in softirq, and on 2 cores the routed tests' BFD (30 ms x 5)
        // then expired on the carrier's sessions now and then (its BIRD starved).
        let stream = iperf ? try spawn(client, name("iperf3"), "iperf3 -c \(address) -t \(seconds) -b 1G -J") : nil
        try waitUntil(5, "\(connections) HTTP connections to \(node)\(iperf ? ", iperf3" : ""), the probe's first answer") {
            let ss = try exec(node, "ss -tnH state established '( sport = :8080 or sport = :5201 )'", check: false).out
            return ss.split(separator: "\n").filter { $0.contains(":8080") }.count >= connections && (!iperf || ss.contains(":5201"))
                && self.errors(name("probe")).contains("answered")
        }
        return {
            wrk.waitUntilExit()
            probe.waitUntilExit()
            let out = self.output(name("wrk"))
            XCTAssertTrue(out.contains("requests in"), "wrk to \(node): \(out) \(self.errors(name("wrk")))")
            XCTAssertFalse(out.contains("Socket errors"), "wrk to \(node) saw errors or resets:\n\(out)")
            XCTAssertFalse(out.contains("Non-2xx"), "wrk to \(node) saw failed requests:\n\(out)")
            if let stream {
                stream.waitUntilExit()
                let json = self.output(name("iperf3"))
                XCTAssertEqual(stream.terminationStatus, 0, "iperf3 to \(node): \(json.suffix(400)) \(self.errors(name("iperf3")))")
                XCTAssertFalse(json.contains("\"error\""), "iperf3 to \(node): \(json.suffix(400))")
                XCTAssertGreaterThan(CarrierFailoverTests.iperfReceivedBytes(json) ?? 0, 10_000_000, "the iperf3 stream to \(node) carried almost nothing")
            }
            let p = try JSONSerialization.jsonObject(with: Data(self.output(name("probe")).utf8)) as? [String: Any]
            return try XCTUnwrap(p?["longest_gap_ms"] as? Double, self.output(name("probe")))
        }
    }
}
