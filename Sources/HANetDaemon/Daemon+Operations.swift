import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// Events, hooks, metrics and systemd notification, wired into the daemon's
/// life: set up at the end of `start`, torn down in `stop`, fed from the
/// switch, the detectors' reports and the PTA agent.
extension Daemon {
    public var events: DaemonEvents { ops.events }

    /// Before the kernel is touched: what would make the daemon misbehave later
    /// (a hook that cannot run) stops the start, like a bad key file does.
    func checkOperations() throws {
        // Configured here, before the kernel and the PTA agent start, so their first events are kept.
        ops.configure(node: config.node.name, clock: env.clock, startedAt: startedAt, hooks: config.hooks, log: log,
                      environment: options.environment)
        let problems = ConfigCheck.hookProblems(config)
        if !problems.isEmpty {
            throw HANetError(.config, problems.map(\.description).joined(separator: "\n"))
        }
    }

    /// The end of `start` (on the executor, with the control socket up).
    func startOperations() throws {
        ops.metrics?.setActive(active, now: env.clock.nowNanos())
        ops.events.emit(.start) { e in
            e.to = self.active
            e.reason = self.adopted ? "adopted the data plane a previous instance left" : nil
        }
        try startMetricsServer()
        // A requester killed while its sibling carried it comes back with a
        // private slave active and no lease: ask again at once (the sibling
        // finds its service in place and only renews it), behind the first
        // decision so a public slave that is GOOD again wins.
        let wasAdopted = adopted
        executor.execute { [self] in
            if wasAdopted, let s = activeSlave, s.role == .private, s.config.sibling != nil, pta?.requester == nil {
                log.info("resuming the PTA request to \(s.config.sibling!) over the adopted private slave \(s.name)")
                pta?.activeChanged(to: s)
            }
        }
        // READY now if an adopted slave is active, else at the first switch
        // to a slave (switched), else when 10 s have passed.
        executor.execute { [self] in readyIfProgrammed() }
        executor.schedule(at: env.clock.nowNanos() + 10_000_000_000) { [weak self] in self?.readyIfProgrammed(gaveUp: true) }
        if ops.notify.enabled, let usec = ops.notify.watchdogMicros {
            // Pinged from the executor itself: a hung executor stops the
            // pings, and systemd restarts the daemon (the kernel keeps forwarding meanwhile).
            let every = max(UInt64(1000), usec / 2)
            ops.watchdog = executor.repeating(every: every * 1000, from: env.clock.nowNanos()) { [weak self] in
                self?.ops.notify.send("WATCHDOG=1")
            }
        }
    }

    /// READY=1 once a slave is active and its rules are in place; if no slave
    /// becomes GOOD within 10 s, READY=1 anyway with a STATUS saying so (the
    /// daemon is serving its control socket and will switch when one does).
    /// `gaveUp`: the 10 s are over.
    func readyIfProgrammed(gaveUp: Bool = false) {
        guard !ops.readySent, running, active != nil || gaveUp else { return }
        ops.readySent = true
        let status = active.map { "forwarding on \($0)" } ?? "no GOOD slave yet; master up, nothing forwarded"
        ops.notify.send("READY=1\nSTATUS=\(status)\nMAINPID=\(ProcessSignals.pid)")
        ops.events.emit(.ready) { e in e.to = self.active; e.reason = status }
    }

    func startMetricsServer() throws {
        ops.metricsServer?.stop()
        ops.metricsServer = nil
        guard let address = config.metrics.address else { return }
        let server = MetricsHTTPServer(address: address, port: config.metrics.port) { [weak self] in
            guard let self else { return "" }
            let st = self.status()
            return self.ops.metrics?.render(st) ?? ""
        }
        try server.start()
        ops.metricsServer = server
        log.info("metrics: http://\(address):\(server.port)/metrics")
    }

    /// The beginning of `stop` (on the executor).
    func stopOperations() {
        ops.watchdog?.cancel()
        ops.watchdog = nil
        ops.notify.send("STOPPING=1")
        ops.metricsServer?.stop()
        ops.events.emit(.stop)
        ops.events.closeAll()
    }

    // MARK: feeds

    func switched(from: String?, to: String?, reason: String, trigger: UInt64, rulesAt: UInt64) {
        ops.metrics?.switched(ruleSeconds: from == nil ? nil : Double(rulesAt &- trigger) / 1e9)
        ops.events.emit(.switch) { e in
            e.from = from
            e.to = to
            e.reason = reason
        }
        if to != nil { readyIfProgrammed() }
    }

    func verdictChanged(slave: String, detector: String, health: Health, reason: String, effectiveChanged: Bool, effective: Health) {
        ops.events.emit(.verdict) { e in
            e.slave = slave
            e.detector = detector
            e.health = health.rawValue
            e.reason = reason
        }
        if effectiveChanged {
            ops.events.emit(.health) { e in
                e.slave = slave
                e.health = effective.rawValue
                e.reason = "\(detector): \(reason)"
            }
        }
    }

    /// PTA messages: every one is counted; RENEW and ACK only as counters,
    /// the rest also as events (a served node renews every second).
    func hotplugRecorded(_ r: DaemonStatus.HotplugRecord) {
        ops.events.emit(.hotplug) { ev in
            ev.message = r.action
            ev.slave = r.interface
            ev.sibling = r.sibling
            let reason = [r.type.map { "type \($0)" }, r.reason].compactMap { $0 }.joined(separator: "; ")
            ev.reason = reason.isEmpty ? nil : reason
        }
    }

    func ptaMessage(_ m: PTAMessage, direction: String, peer: String) {
        ops.metrics?.ptaMessage(direction: direction, type: m.type.description)
        // RENEW, its ACK and READINESS are too frequent for the event ring; readiness changes have their own event.
        guard m.type != .renew, m.type != .ack, m.type != .readiness else { return }
        ops.events.emit(.pta) { e in
            e.sibling = peer
            e.message = "\(direction) \(m.type)"
            e.addresses = m.addresses.map(\.description) + m.ipv6Addresses.map(\.description)
            if !m.reason.isEmpty { e.reason = m.reason }
        }
    }

    func ptaEvent(_ kind: EventKind, sibling: String, addresses: [IPv4Address], ipv6Addresses: [IPv6Address],
                  link: String?, reason: String?) {
        ops.events.emit(kind) { e in
            e.sibling = sibling
            e.addresses = addresses.map(\.description) + ipv6Addresses.map(\.description)
            e.slave = link
            e.reason = reason
        }
    }
}

// MARK: control socket commands

extension Daemon {
    /// `reload`: what was applied, or why it was refused.
    func reloadAnswer() -> ControlProtocol.Answer {
        let r = reload()
        var a = ControlProtocol.Answer(ok: r.ok)
        a.reload = r
        if !r.ok {
            a.error = "reload refused, the running configuration is kept:\n" + r.problems.joined(separator: "\n")
            a.code = HANetError.Code.config.rawValue
        }
        return a
    }

    /// `subscribe`: the connection stays open and gets one JSON event per
    /// line (first the stored ones after `after`, if given) until the client
    /// hangs up or the daemon stops. Nil for every other command.
    func streamControl(_ line: String) -> ((UnixSocketServer.StreamSink) -> Void)? {
        guard let req = try? JSONDecoder().decode(ControlProtocol.Request.self, from: Data(line.utf8)),
              (try? req.parsedCommand()) == .subscribe else { return nil }
        let events = ops.events
        let sub = events.subscribe()
        let backlog = req.after.map { events.recent(after: $0) } ?? []
        return { sink in
            defer { events.unsubscribe(sub) }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            func send(_ e: DaemonEvent) -> Bool {
                guard let d = try? enc.encode(e) else { return true }
                return sink.write(String(decoding: d, as: UTF8.self))
            }
            // The acknowledgement tells the client the subscription is live.
            guard sink.write(#"{"ok":true,"subscribed":true}"#) else { return }
            var last = backlog.last?.seq ?? 0
            for e in backlog where !send(e) { return }
            while true {
                guard let batch = sub.next(timeout: 1) else { return }
                if batch.isEmpty {
                    if !sink.isOpen() { return }
                    continue
                }
                for e in batch where e.seq > last {
                    if !send(e) { return }
                    last = e.seq
                }
            }
        }
    }
}
