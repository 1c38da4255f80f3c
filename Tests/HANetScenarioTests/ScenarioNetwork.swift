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
    init(pair: Bool = false, ipv6: Bool = false, prefix: String = "hnt") throws {
        self.pair = pair
        self.ipv6 = ipv6
        self.prefix = "\(prefix)\(String(UInt32.random(in: 0..<UInt32.max), radix: 36))"
        work = NSTemporaryDirectory() + self.prefix
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try sh("source scripts/lib/net.sh && net_up \(self.prefix) \(pair ? "pair" : "")\(ipv6 ? " && net_ipv6 \(self.prefix)" : "")")
        if pair { try sh("source scripts/lib/net.sh && net_key \(keyFile)") }
    }

    let ipv6: Bool

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
            try exec("client", "curl -gsf -o /dev/null http://\(address):8080/hello", check: false).status == 0
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
    /// routes, forwarding and the proxy ARP sysctls. Tests compare it before
    /// and after to prove a takeover leaves nothing behind.
    func ptaKernelState(_ node: String = "s2") throws -> String {
        let proxy = try exec(node, "ip neigh show proxy").out
        let routes = try exec(node, "ip -4 route show").out
        let sysctls = try exec(node, "sysctl -n net.ipv4.ip_forward net.ipv4.conf.priv0.proxy_arp net.ipv4.neigh.priv0.proxy_delay net.ipv4.neigh.hanet0.proxy_delay").out
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
