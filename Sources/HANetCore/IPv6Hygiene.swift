
/// IPv6 settings of the master and the slaves, as sysctl writes for `SysctlChanges`.
public enum IPv6Hygiene {
    /// The master's link-local address stays the same across switches,
    /// restarts and reboots: RFC 7217 stable addresses (addr_gen_mode 2) from
    /// a `stable_secret` derived from the node name, so the address depends
    /// on the secret and the prefix only. The default (EUI-64 from the MAC)
    /// would follow whichever slave's MAC the master had when it came up.
    /// Measured on a veth master: the same secret gave the same fe80:: address
    /// on two masters with different MACs and after a down/up with a new MAC.
    /// `stable_secret` is written first: the mode reads it. Written with
    /// `SysctlStore.write(_:)`, not saved for a restore: an unset
    /// `stable_secret` reads as an I/O error and cannot be unset again, and the
    /// master is the daemon's own interface, created and deleted by it.
    public static func masterSettings(master: String, node: String) -> [SysctlChanges.Setting] {
        [.init("net/ipv6/conf/\(master)/stable_secret", stableSecret(node: node).description),
         .init("net/ipv6/conf/\(master)/addr_gen_mode", "2")]
    }

    /// The secret: the first 128 bits of SHA-256 over a fixed label and the node name.
    public static func stableSecret(node: String) -> IPv6Address {
        IPv6Address(bytes: Digest.sha256(Array(("hanet master link-local\u{0}" + node).utf8)).prefix(16).map { $0 })
    }

    /// Slaves neither autoconfigure addresses nor accept router advertisements:
    /// the master takes its router from the LAN; a slave's own RA-learned
    /// routes would compete with it.
    public static func slaveSettings(slave: String) -> [SysctlChanges.Setting] {
        [.init("net/ipv6/conf/\(slave)/accept_ra", "0"),
         .init("net/ipv6/conf/\(slave)/autoconf", "0")]
    }
}
