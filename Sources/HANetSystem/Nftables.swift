import CNftables
import FoundationEssentials
import HANetCore

/// `DataPlane` over libnftables in process: a switch is one
/// `nft_run_cmd_from_buffer` call, one atomic kernel transaction, well under
/// a millisecond, where spawning `nft` costs tens of milliseconds.
///
/// libnftables resolves interface names (`fwd to "e0"`) in the calling
/// thread's network namespace, so every command runs in the namespace the
/// `Nftables` was created in (hopping threads when called from elsewhere).
public final class Nftables: DataPlane {
    private let ctx: OpaquePointer
    private let lock = Lock()
    private let anchor: NamespaceAnchor

    public init() throws {
        guard let c = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw HANetError(.kernel, "nftables: nft_ctx_new failed (out of memory?)")
        }
        ctx = c
        if nft_ctx_buffer_output(c) != 0 || nft_ctx_buffer_error(c) != 0 {
            nft_ctx_free(c)
            throw HANetError(.kernel, "nftables: cannot buffer libnftables output")
        }
        do {
            anchor = try NamespaceAnchor()
        } catch {
            nft_ctx_free(c)
            throw error
        }
    }

    deinit { nft_ctx_free(ctx) }

    /// Runs nft text; returns the output, or throws with nft's error text.
    @discardableResult
    func run(_ command: String, json: Bool = false, dryRun: Bool = false, what: @autoclosure () -> String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let (rc, out, err): (Int32, String, String) = try anchor.run {
            nft_ctx_output_set_flags(ctx, json ? UInt32(NFT_CTX_OUTPUT_JSON) : 0)
            nft_ctx_set_dry_run(ctx, dryRun)
            let rc = nft_run_cmd_from_buffer(ctx, command)
            nft_ctx_set_dry_run(ctx, false)
            let out = nft_ctx_get_output_buffer(ctx).map { String(cString: $0) } ?? ""
            let err = nft_ctx_get_error_buffer(ctx).map { String(cString: $0) } ?? ""
            return (rc, out, err)
        }
        if rc != 0 {
            let text = err.trimmingWhitespace()
            throw HANetError(.kernel, "nftables: \(what()): \(text.isEmpty ? "failed (rc \(rc))" : text)")
        }
        return out
    }

    public func apply(_ plan: ForwardingPlan) throws {
        try NftablesRuleset.validate(plan)
        try run(NftablesRuleset.render(plan),
                what: "apply table netdev \(plan.table) (port \(plan.port), active \(plan.active ?? "none"))")
    }

    public func remove(table: String) throws {
        guard NftablesRuleset.isIdentifier(table) else {
            throw HANetError(.config, "nftables table name '\(table)': not a valid identifier")
        }
        // Ensure-then-delete: removing a table that is not there is not an error.
        try run("table netdev \(table)\ndelete table netdev \(table)\n", what: "remove table netdev \(table)")
    }

    public func applyGuard(_ g: PTAGuard) throws {
        try NftablesRuleset.validate(ForwardingPlan(table: PTAGuard.table(for: g.table), port: g.publicSlaves.first ?? "lo", active: nil))
        for d in g.publicSlaves { try NftablesRuleset.checkInterface(d, role: "public slave") }
        try run(NftablesRuleset.renderGuard(g), what: "apply table netdev \(PTAGuard.table(for: g.table)) (PTA port \(g.port) closed on \(g.publicSlaves.joined(separator: ", ")))")
    }

    public func guardDrops(table: String) throws -> UInt64? {
        guard let listing = try list(PTAGuard.table(for: table)) else { return nil }
        return listing.nftables.compactMap(\.rule).flatMap(\.expr).compactMap(\.counterPackets).reduce(0, +)
    }

    /// The rules of netdev table `table`, decoded; nil when there is no such table.
    /// Read from `nft -j list ruleset netdev`, every netdev table, rather than
    /// `list table netdev NAME`: libnftables tells a missing table only as text
    /// ("Error: No such file or directory", errno left as it was; measured with
    /// 1.0.6), while the ruleset lists what exists and fails only when nftables does.
    private func list(_ table: String) throws -> Listing? {
        let json = try run("list ruleset netdev", json: true, what: "list ruleset netdev (table \(table))")
        guard let all = try? JSONDecoder().decode(Listing.self, from: Data(json.utf8)) else {
            throw HANetError(.protocolError, "nftables: list ruleset netdev (table \(table)): unexpected JSON output: \(json.prefix(200))")
        }
        guard all.nftables.contains(where: { $0.table == table }) else { return nil }
        return Listing(nftables: all.nftables.filter { $0.rule?.table == table })
    }

    public func installed(table: String) throws -> (port: String, active: String?)? {
        guard NftablesRuleset.isIdentifier(table) else {
            throw HANetError(.config, "nftables table name '\(table)': not a valid identifier")
        }
        guard let listing = try list(table) else { return nil }
        var fwdTarget: [String: String] = [:]       // chain name -> device it forwards to
        for item in listing.nftables {
            guard let rule = item.rule else { continue }
            for e in rule.expr { if let dev = e.fwdDevice { fwdTarget[rule.chain] = dev } }
        }
        let active = fwdTarget["port"]
        if let port = fwdTarget["slave"] { return (port, active) }
        // No forwarding (no active slave): the port is only in the table comment,
        // which 1.0.6 prints in the text listing but not in JSON.
        let text = try run("list table netdev \(table)", what: "list table netdev \(table)")
        let marker = "comment \"\(NftablesRuleset.portCommentPrefix)"
        guard let r = text.firstRange(ofText: marker), let end = text[r.upperBound...].firstIndex(of: "\"") else {
            throw HANetError(.state, "nftables table netdev \(table) exists but was not made by HANet (no port comment, no fwd rule)")
        }
        return (String(text[r.upperBound..<end]), active)
    }

    /// What `installed(table:)` and `guardDrops(table:)` read of `nft -j list
    /// ruleset`: the tables' names, and each rule's table, chain, the device of
    /// its `fwd` expression and the packets of its `counter`. Everything else
    /// is skipped, and an item or expression of another shape is ignored
    /// rather than failing the listing.
    private struct Listing: Decodable {
        var nftables: [Item]

        struct Item: Decodable {
            /// The name of a table item.
            var table: String?
            var rule: Rule?
            enum CodingKeys: String, CodingKey { case table, rule }
            struct Table: Decodable { var name: String }
            init(from decoder: Decoder) throws {
                let c = try? decoder.container(keyedBy: CodingKeys.self)
                table = (try? c?.decodeIfPresent(Table.self, forKey: .table))?.name
                rule = try? c?.decodeIfPresent(Rule.self, forKey: .rule)
            }
        }

        struct Rule: Decodable {
            var table: String
            var chain: String
            var expr: [Expr]
        }

        struct Expr: Decodable {
            var fwdDevice: String?
            var counterPackets: UInt64?
            enum CodingKeys: String, CodingKey { case fwd, counter }
            enum FwdKeys: String, CodingKey { case dev }
            enum CounterKeys: String, CodingKey { case packets }
            init(from decoder: Decoder) throws {
                let c = try? decoder.container(keyedBy: CodingKeys.self)
                let fwd = try? c?.nestedContainer(keyedBy: FwdKeys.self, forKey: .fwd)
                fwdDevice = try? fwd?.decodeIfPresent(String.self, forKey: .dev)
                let counter = try? c?.nestedContainer(keyedBy: CounterKeys.self, forKey: .counter)
                counterPackets = try? counter?.decodeIfPresent(UInt64.self, forKey: .packets)
            }
        }
    }

    /// Verifies at start-up that the kernel has nftables netdev tables and the
    /// `fwd` expression, in a dry run (the kernel validates, then aborts).
    public static func checkSupport() throws {
        let nft: Nftables
        do {
            nft = try Nftables()
        } catch let e as HANetError {
            throw HANetError(.kernelUnsupported, "nftables is not usable: \(e.message)")
        }
        let probe = "table netdev hanet_check {\n\tchain probe {\n\t\ttype filter hook ingress device \"lo\" priority 0;\n\t\tfwd to \"lo\"\n\t}\n}\n"
        do {
            try nft.run(probe, dryRun: true, what: "dry-run a netdev ingress chain with fwd on lo")
        } catch let e as HANetError {
            throw HANetError(.kernelUnsupported,
                             "this kernel lacks nftables netdev fwd (CONFIG_NF_TABLES_NETDEV, CONFIG_NFT_FWD_NETDEV): \(e.message)")
        }
    }
}
