/// `[hooks]` and `[metrics]`: the operations tables.
extension HANetConfigReader {
    static let hooksKeys = ["on_switch", "on_pta", "on_event", "timeout_ms"]
    static let metricsKeys = ["listen"]

    mutating func readHooks(_ t: TOMLTable?) -> HANetConfig.Hooks {
        guard let t else { return HANetConfig.Hooks() }
        checkKeys(t, allowed: Self.hooksKeys, table: "[hooks]", path: "hooks")
        var hooks = HANetConfig.Hooks(location: .init(file: file, line: t.line))
        hooks.onSwitch = hookPath(t, "on_switch")
        hooks.onPTA = hookPath(t, "on_pta")
        hooks.onEvent = hookPath(t, "on_event")
        hooks.timeoutMillis = optionalInt(t, "timeout_ms", path: "hooks", range: 1...600_000) ?? 5000
        return hooks
    }

    /// A hook is run without a shell, so it must be an absolute path: a
    /// relative one would depend on the daemon's working directory.
    private mutating func hookPath(_ t: TOMLTable, _ key: String) -> String? {
        guard let (s, line) = optionalString(t, key, path: "hooks") else { return nil }
        guard s.hasPrefix("/"), s.count > 1 else {
            problem(line, "hooks." + key, "expected the absolute path of an executable such as \"/etc/hanet/notify.sh\", got \"\(s)\"")
            return nil
        }
        return s
    }

    mutating func readMetrics(_ t: TOMLTable?) -> HANetConfig.Metrics {
        guard let t else { return HANetConfig.Metrics() }
        checkKeys(t, allowed: Self.metricsKeys, table: "[metrics]", path: "metrics")
        guard let (s, line) = optionalString(t, "listen", path: "metrics") else { return HANetConfig.Metrics() }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(String(parts[0])), let port = UInt16(parts[1]), port > 0 else {
            problem(line, "metrics.listen", "expected an IPv4 address and TCP port such as \"127.0.0.1:9477\", got \"\(s)\"")
            return HANetConfig.Metrics()
        }
        return HANetConfig.Metrics(address: a, port: port)
    }
}
