import FoundationEssentials
import HANetCore

/// The start-up check: HANet's data plane needs veth (the master) and nftables
/// netdev `fwd`; without them the daemon would fail at the first failover, so
/// it refuses to start instead, saying which kernel option is missing.
public enum KernelSupport {
    public static func check() throws {
        try checkVeth()
        try Nftables.checkSupport()
    }

    /// Creates and deletes a veth pair with random names in the current namespace.
    public static func checkVeth() throws {
        let netlink: Netlink
        do {
            netlink = try Netlink()
        } catch let e as HANetError {
            throw HANetError(.kernelUnsupported, "rtnetlink is not usable: \(e.message)")
        }
        let tag = String(UInt32.random(in: 0..<0xffffff), radix: 16)
        let a = "hnchk\(tag)a", b = "hnchk\(tag)b"
        do {
            try netlink.createVethPair(a, peer: b)
        } catch let e as HANetError {
            throw HANetError(.kernelUnsupported, "this kernel cannot create veth pairs (CONFIG_VETH), which the master interface needs: \(e.message)")
        }
        try netlink.deleteLink(named: a)
    }
}
