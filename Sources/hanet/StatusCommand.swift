import ArgumentParser
import FoundationEssentials
import HANetCore
import HANetDaemon

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the running daemon believes.",
        discussion: """
        The master's addresses and link-layer attributes, the active slave, every slave with \
        its flags (ACTIVE, GOOD), its detectors' last verdicts, the siblings and what the PTA \
        carries, and the last switch; in the routed mode ([routing]) also BIRD's state, this \
        server's addresses announced or withdrawn, the carried siblings and every BIRD \
        protocol with its state. With --json, the same as one JSON object (documented in the README; fields are only ever added).
        """)

    @OptionGroup var socket: SocketOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() throws {
        let st: DaemonStatus
        do {
            guard let s = try ControlProtocol.send(.init(.status), to: socket.socket).status else {
                throw HANetError(.protocolError, "the daemon sent no status")
            }
            st = s
        } catch { fail(error) }
        if json {
            print(try StatusRenderer.json(st))
            return
        }
        print(StatusRenderer.render(st))
    }
}

/// The human form of `hanet status`: a header and a table.
enum StatusRenderer {
    /// `--json` of status and failover: the status object, keys sorted.
    static func json(_ st: DaemonStatus) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try enc.encode(st), as: UTF8.self)
    }

    static func render(_ st: DaemonStatus) -> String {
        var out: [String] = []
        let m = st.master
        out.append("node \(st.node)  pid \(st.pid)  since \(st.started)\(st.adopted ? "  (adopted running data plane)" : "")")
        // An IPv6 address the kernel holds tentative or dadfailed cannot serve: shown next to it.
        let shown = m.addresses.map { a in
            let bad = (m.ipv6_flags?[a] ?? []).filter { $0 != "nodad" }
            return bad.isEmpty ? a : "\(a)[\(bad.joined(separator: ","))]"
        }
        out.append("master \(m.name)  \(shown.joined(separator: " "))  mtu \(m.mtu)  mac \(m.mac ?? "-")  \(m.layer)\(m.noarp ? " NOARP" : "")  txqlen \(m.txqueuelen)")
        out.append("active \(st.active ?? "none")  switches \(st.switches)")
        out.append("")
        var rows = [["LINK", "TYPE", "ROLE", "LAYER", "SPEED", "MTU", "FLAGS", "HEALTH", "DETECTORS"]]
        for l in st.links {
            let dets = l.detectors.map { "\($0.name)=\($0.health)" }.joined(separator: ",")
            rows.append([l.interface, l.type, l.role, l.layer, formatSpeed(l.speed_bps), String(l.mtu),
                         l.flags.isEmpty ? "-" : l.flags.joined(separator: ","), l.health, dets.isEmpty ? "-" : dets])
        }
        out.append(contentsOf: table(rows))
        for l in st.links where l.health != "GOOD" {
            out.append("  \(l.interface): \(l.reason)")
        }
        let probing = st.links.flatMap { l in l.detectors.filter { $0.probes_sent != nil }.map { (l.interface, $0) } }
        if !probing.isEmpty {
            out.append("")
            var rows = [["LINK", "DETECTOR", "HEALTH", "PROBES", "REPLIES", "LAST REPLY", "REASON"]]
            for (link, d) in probing {
                rows.append([link, d.name, d.health, String(d.probes_sent ?? 0), String(d.replies ?? 0),
                             d.last_reply_age_s.map { UTCTimestamp.fixed($0, 2) + "s ago" } ?? "never", d.reason])
            }
            out.append(contentsOf: table(rows))
        }
        if let siblings = st.siblings, !siblings.isEmpty {
            out.append("")
            var rows = [["SIBLING", "READINESS", "LINKS", "HEARD", "CARRIES", "REASON"]]
            for sib in siblings {
                let carries = sib.serves_us ? "us" : sib.we_serve ? "(we carry it)" : "-"
                rows.append([sib.name, sib.readiness, sib.links.isEmpty ? "-" : sib.links.joined(separator: ","),
                             sib.last_heard_s.map { UTCTimestamp.fixed($0, 2) + "s ago" } ?? "never", carries, sib.reason])
            }
            out.append(contentsOf: table(rows))
        }
        if let refused = st.refused?.filter({ $0.value > 0 }), !refused.isEmpty {
            out.append("")
            out.append("refused: " + refused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        let pta = st.pta
        if !pta.serving.isEmpty || pta.served_by != nil {
            out.append("")
            for s in pta.serving {
                out.append("pta: serving \(s.sibling) (\(s.addresses.joined(separator: ", "))) over \(s.link) since \(s.since)")
            }
            if let b = pta.served_by {
                out.append("pta: \(b.state) by \(b.sibling) (\(b.addresses.joined(separator: ", ")))\(b.since.map { " since \($0)" } ?? "")")
            }
        }
        if let r = st.routing {
            out.append("")
            let own = r.own.joined(separator: ", ")
            out.append("routing: \(r.engine) at \(r.control_socket): \(r.state); \(own) \(r.own_announced ? "announced" : "withdrawn")\(r.pending == true ? " (pending)" : "")")
            for c in r.carried {
                out.append("  carries \(c.sibling) (\(c.addresses.joined(separator: ", "))) via \(c.next_hop)\(c.enabled ? "" : ", disabled")")
            }
            if !r.protocols.isEmpty {
                var rows = [["PROTOCOL", "PROTO", "STATE", "SINCE", "INFO"]]
                for p in r.protocols { rows.append([p.name, p.proto, p.state, p.since, p.info]) }
                out.append(contentsOf: table(rows).map { "  " + $0 })
            }
        }
        if let s = st.last_switch {
            out.append("")
            let lat = s.trigger_to_rules_us.map { " (rules \(UTCTimestamp.fixed($0 / 1000, 3)) ms after the trigger)" } ?? ""
            out.append("last switch \(s.time): \(s.from ?? "none") -> \(s.to ?? "none")\(lat)")
            out.append("  \(s.reason)")
        }
        return out.joined(separator: "\n")
    }

    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { i, cell in i == r.count - 1 ? cell : cell.padded(to: widths[i]) }
                .joined(separator: "  ")
        }
    }

    static func formatSpeed(_ bps: UInt64) -> String {
        if bps == 0 { return "?" }
        if bps % 1_000_000_000 == 0 { return "\(bps / 1_000_000_000)G" }
        if bps % 1_000_000 == 0 { return "\(bps / 1_000_000)M" }
        if bps % 1_000 == 0 { return "\(bps / 1_000)K" }
        return "\(bps)"
    }
}

struct FailoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Make a GOOD slave the active one now.",
        discussion: """
        The daemon refuses a slave that is not GOOD. With failback on, the interface manager \
        may later move back to a better slave when its health changes.
        """)

    @OptionGroup var socket: SocketOptions
    @Option(name: .long, help: ArgumentHelp("The slave to make active.", valueName: "iface")) var to: String
    @Flag(name: .long, help: "Print the new status as JSON.") var json = false

    func run() throws {
        do {
            let a = try ControlProtocol.send(.init(.failover, to: to), to: socket.socket)
            if json, let st = a.status {
                print(try StatusRenderer.json(st))
            } else {
                print("active: \(a.status?.active ?? to)")
            }
        } catch { fail(error) }
    }
}
