import CLibNL
import FoundationEssentials
import Glibc
import HANetCore

/// `NetworkKernel` over libnl-route, in process: every change is one netlink
/// request on one NETLINK_ROUTE socket, answered synchronously, because a
/// failover is a handful of such requests and spawning `ip` costs tens of ms.
///
/// The socket belongs to the network namespace of the thread that created the
/// `Netlink` (see `NetworkNamespace.run`); afterwards it may be used from any
/// thread and still acts in that namespace. Calls are serialized by a lock
/// because libnl sockets carry sequence numbers and are not thread-safe.
public final class Netlink: NetworkKernel {
    let sock: OpaquePointer
    private let lock = Lock()

    public init() throws {
        guard let s = nl_socket_alloc() else {
            throw HANetError(.kernel, "netlink: cannot allocate a libnl socket (out of memory)")
        }
        let rc = nl_connect(s, NETLINK_ROUTE)
        if rc < 0 {
            nl_socket_free(s)
            throw HANetError(.kernel, "netlink: connect NETLINK_ROUTE: \(Netlink.errorText(rc))")
        }
        sock = s
    }

    deinit {
        nl_close(sock)
        nl_socket_free(sock)
    }

    static func errorText(_ rc: Int32) -> String {
        String(cString: nl_geterror(rc))
    }

    func check(_ rc: Int32, _ what: @autoclosure () -> String) throws {
        if rc < 0 { throw HANetError(.kernel, "\(what()): \(Netlink.errorText(rc))") }
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: links

    public func links() throws -> [KernelLink] {
        try locked {
            var cache: OpaquePointer?
            try check(rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache), "list links")
            defer { nl_cache_free(cache) }
            var result: [KernelLink] = []
            var obj = nl_cache_get_first(cache)
            while let o = obj {
                result.append(Netlink.kernelLink(o))
                obj = nl_cache_get_next(o)
            }
            return result
        }
    }

    public func link(named name: String) throws -> KernelLink? {
        try locked {
            guard let l = try fetchLink(name) else { return nil }
            defer { rtnl_link_put(l) }
            return Netlink.kernelLink(l)
        }
    }

    /// Caller holds the lock; the result must be released with rtnl_link_put.
    private func fetchLink(_ name: String) throws -> OpaquePointer? {
        var l: OpaquePointer?
        let rc = rtnl_link_get_kernel(sock, 0, name, &l)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return nil }
        try check(rc, "look up link \(name)")
        return l
    }

    private func requireLink(_ name: String, _ what: String) throws -> OpaquePointer {
        guard let l = try fetchLink(name) else {
            throw HANetError(.notFound, "\(what): no interface named \(name)")
        }
        return l
    }

    func ifindex(_ name: String, _ what: String) throws -> Int32 {
        let l = try requireLink(name, what)
        defer { rtnl_link_put(l) }
        return rtnl_link_get_ifindex(l)
    }

    static func kernelLink(_ l: OpaquePointer) -> KernelLink {
        let mac = Netlink.mac(rtnl_link_get_addr(l))
        let name = rtnl_link_get_name(l).map { String(cString: $0) } ?? ""
        return KernelLink(name: name, index: rtnl_link_get_ifindex(l), mac: mac,
                          mtu: rtnl_link_get_mtu(l), txQueueLength: rtnl_link_get_txqlen(l),
                          flags: rtnl_link_get_flags(l), arphrd: rtnl_link_get_arptype(l),
                          operState: rtnl_link_get_operstate(l))
    }

    public func createVethPair(_ name: String, peer: String) throws {
        try locked {
            // rtnl_link_veth_add would set IFLA_NET_NS_PID on the peer, moving it to
            // the namespace of that pid rather than the socket's; build it by hand.
            guard let l = rtnl_link_veth_alloc() else {
                throw HANetError(.kernel, "create veth \(name)/\(peer): out of memory")
            }
            defer { rtnl_link_put(l) }
            rtnl_link_set_name(l, name)
            if let p = rtnl_link_veth_get_peer(l) {
                rtnl_link_set_name(p, peer)
                rtnl_link_put(p)
            }
            try check(rtnl_link_add(sock, l, NLM_F_CREATE | NLM_F_EXCL), "create veth pair \(name)/\(peer)")
        }
    }

    public func deleteLink(named name: String) throws {
        try locked {
            guard let l = rtnl_link_alloc() else { throw HANetError(.kernel, "delete link \(name): out of memory") }
            defer { rtnl_link_put(l) }
            rtnl_link_set_name(l, name)
            let rc = rtnl_link_delete(sock, l)
            if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV {
                throw HANetError(.notFound, "delete link \(name): no interface named \(name)")
            }
            try check(rc, "delete link \(name)")
        }
    }

    /// One RTM_NEWLINK change request against the current state of `name`.
    private func change(_ name: String, _ what: String, _ mutate: (OpaquePointer) -> Void) throws {
        try locked {
            let orig = try requireLink(name, what)
            defer { rtnl_link_put(orig) }
            guard let c = rtnl_link_alloc() else { throw HANetError(.kernel, "\(what): out of memory") }
            defer { rtnl_link_put(c) }
            mutate(c)
            try check(rtnl_link_change(sock, orig, c, 0), what)
        }
    }

    public func setUp(_ name: String, _ up: Bool) throws {
        try change(name, "set \(name) \(up ? "up" : "down")") { c in
            if up { rtnl_link_set_flags(c, KernelLink.flagUp) } else { rtnl_link_unset_flags(c, KernelLink.flagUp) }
        }
    }

    public func setMAC(_ name: String, _ mac: MACAddress) throws {
        var bytes = mac.bytes
        guard let a = nl_addr_build(AF_LLC, &bytes, 6) else {
            throw HANetError(.kernel, "set MAC of \(name) to \(mac): out of memory")
        }
        defer { nl_addr_put(a) }
        try change(name, "set MAC of \(name) to \(mac)") { c in rtnl_link_set_addr(c, a) }
    }

    public func setMTU(_ name: String, _ mtu: UInt32) throws {
        try change(name, "set MTU of \(name) to \(mtu)") { c in rtnl_link_set_mtu(c, mtu) }
    }

    public func setNoARP(_ name: String, _ noARP: Bool) throws {
        try change(name, "set \(name) arp \(noARP ? "off" : "on")") { c in
            if noARP { rtnl_link_set_flags(c, KernelLink.flagNoARP) } else { rtnl_link_unset_flags(c, KernelLink.flagNoARP) }
        }
    }

    public func setTxQueueLength(_ name: String, _ length: UInt32) throws {
        try change(name, "set txqueuelen of \(name) to \(length)") { c in rtnl_link_set_txqlen(c, length) }
    }

    // MARK: addresses

    private static func buildAddress(_ a: IPv4Address, prefixLength: Int? = nil) -> OpaquePointer? {
        buildAddress(family: AF_INET, a.bytes, prefixLength: prefixLength)
    }

    /// An nl_addr of `family` from network-order bytes; release with nl_addr_put.
    static func buildAddress(family: Int32, _ bytes: [UInt8], prefixLength: Int? = nil) -> OpaquePointer? {
        var bytes = bytes
        let addr = nl_addr_build(family, &bytes, bytes.count)
        if let addr, let len = prefixLength { nl_addr_set_prefixlen(addr, Int32(len)) }
        return addr
    }

    /// The bytes of an nl_addr of `family` and `length`, or nil.
    static func addressBytes(_ a: OpaquePointer?, family: Int32, length: Int) -> [UInt8]? {
        guard let a, nl_addr_get_family(a) == family, nl_addr_get_len(a) == length,
              let p = nl_addr_get_binary_addr(a) else { return nil }
        return Array(UnsafeRawBufferPointer(start: p, count: length))
    }

    private static func mac(_ a: OpaquePointer?) -> MACAddress? {
        guard let a, nl_addr_get_len(a) == 6, let p = nl_addr_get_binary_addr(a) else { return nil }
        return MACAddress(Array(UnsafeRawBufferPointer(start: p, count: 6)))
    }

    private static func ipv4(_ a: OpaquePointer?) -> IPv4Address? {
        addressBytes(a, family: AF_INET, length: 4).map(IPv4Address.init(bytes:))
    }

    public func addresses(of name: String) throws -> [IPv4Prefix] {
        try addresses(of: name, family: AF_INET).map { IPv4Prefix(address: IPv4Address(bytes: $0.bytes), length: $0.length) }
    }

    /// The addresses of `family` on the interface: bytes, prefix length and IFA_F_* flags.
    func addresses(of name: String, family: Int32) throws -> [(bytes: [UInt8], length: Int, flags: UInt32)] {
        try locked {
            let index = try ifindex(name, "list addresses of \(name)")
            var cache: OpaquePointer?
            try check(rtnl_addr_alloc_cache(sock, &cache), "list addresses of \(name)")
            defer { nl_cache_free(cache) }
            var result: [(bytes: [UInt8], length: Int, flags: UInt32)] = []
            var obj = nl_cache_get_first(cache)
            while let o = obj {
                if rtnl_addr_get_ifindex(o) == index, rtnl_addr_get_family(o) == family,
                   let b = Netlink.addressBytes(rtnl_addr_get_local(o), family: family, length: family == AF_INET ? 4 : 16) {
                    result.append((b, Int(rtnl_addr_get_prefixlen(o)), rtnl_addr_get_flags(o)))
                }
                obj = nl_cache_get_next(o)
            }
            return result
        }
    }

    func addressRequest(family: Int32, _ bytes: [UInt8], prefixLength: Int, flags: UInt32 = 0, _ name: String,
                        _ what: String, _ send: (OpaquePointer) -> Int32) throws {
        try locked {
            let index = try ifindex(name, what)
            guard let addr = rtnl_addr_alloc(), let local = Netlink.buildAddress(family: family, bytes, prefixLength: prefixLength) else {
                throw HANetError(.kernel, "\(what): out of memory")
            }
            defer { rtnl_addr_put(addr); nl_addr_put(local) }
            rtnl_addr_set_ifindex(addr, index)
            rtnl_addr_set_family(addr, family)
            try check(rtnl_addr_set_local(addr, local), what)
            rtnl_addr_set_prefixlen(addr, Int32(prefixLength))
            if flags != 0 { rtnl_addr_set_flags(addr, flags) }
            try check(send(addr), what)
        }
    }

    public func addAddress(_ prefix: IPv4Prefix, to name: String) throws {
        try addressRequest(family: AF_INET, prefix.address.bytes, prefixLength: prefix.length, name,
                           "add address \(prefix) to \(name)") { rtnl_addr_add(sock, $0, 0) }
    }

    public func deleteAddress(_ prefix: IPv4Prefix, from name: String) throws {
        try addressRequest(family: AF_INET, prefix.address.bytes, prefixLength: prefix.length, name,
                           "delete address \(prefix) from \(name)") { rtnl_addr_delete(sock, $0, 0) }
    }

    // MARK: neighbours

    /// Caller holds the lock.
    private func neighbourCache(_ what: String) throws -> OpaquePointer? {
        var cache: OpaquePointer?
        try check(rtnl_neigh_alloc_cache(sock, &cache), what)
        return cache
    }

    public func neighbours(on name: String) throws -> [NeighbourEntry] {
        try locked {
            let what = "list neighbours on \(name)"
            let index = try ifindex(name, what)
            let cache = try neighbourCache(what)
            defer { nl_cache_free(cache) }
            var result: [NeighbourEntry] = []
            var obj = nl_cache_get_first(cache)
            while let o = obj {
                if rtnl_neigh_get_ifindex(o) == index, rtnl_neigh_get_family(o) == AF_INET,
                   let a = Netlink.ipv4(rtnl_neigh_get_dst(o)) {
                    let state = rtnl_neigh_get_state(o)
                    result.append(NeighbourEntry(address: a, mac: Netlink.mac(rtnl_neigh_get_lladdr(o)), state: UInt16(truncatingIfNeeded: state), interfaceIndex: index))
                }
                obj = nl_cache_get_next(o)
            }
            return result
        }
    }

    public func flushNeighbours(on name: String) throws {
        try locked {
            let what = "flush neighbours on \(name)"
            let index = try ifindex(name, what)
            let cache = try neighbourCache(what)
            defer { nl_cache_free(cache) }
            var obj = nl_cache_get_first(cache)
            while let o = obj {
                let state = UInt16(truncatingIfNeeded: rtnl_neigh_get_state(o))
                if rtnl_neigh_get_ifindex(o) == index, rtnl_neigh_get_family(o) == AF_INET, NeighbourEntry.isDynamic(state: state) {
                    let rc = rtnl_neigh_delete(sock, o, 0)
                    // An entry may expire between the dump and the delete.
                    if rc != -NLE_OBJ_NOTFOUND { try check(rc, what) }
                }
                obj = nl_cache_get_next(o)
            }
        }
    }

    /// NTF_PROXY from linux/neighbour.h.
    static let ntfProxy: Int32 = 0x08
    static let nudPermanent: Int32 = 0x80

    public func proxyNeighbours(on name: String) throws -> [IPv4Address] {
        try proxyNeighbours(on: name, family: AF_INET).map(IPv4Address.init(bytes:))
    }

    /// The proxy entries of `family` on the interface, as network-order bytes.
    func proxyNeighbours(on name: String, family: Int32) throws -> [[UInt8]] {
        try locked {
            let what = "list proxy neighbours on \(name)"
            let index = try ifindex(name, what)
            // libnl's neighbour cache does not request proxy entries: the dump must
            // carry NTF_PROXY in its ndmsg, so send it and parse the answers here.
            var req = [UInt8](repeating: 0, count: 12)      // struct ndmsg
            req[0] = UInt8(family)
            req[10] = UInt8(Netlink.ntfProxy)
            try check(nl_send_simple(sock, Int32(RTM_GETNEIGH), NLM_F_DUMP, &req, req.count), what)
            let box = ProxyDump(ifindex: index, family: UInt8(family), length: family == AF_INET ? 4 : 16)
            guard let cb = nl_cb_clone(nl_socket_get_cb(sock)) else { throw HANetError(.kernel, "\(what): out of memory") }
            defer { nl_cb_put(cb) }
            let unmanaged = Unmanaged.passRetained(box)
            defer { unmanaged.release() }
            nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, { msg, arg in
                guard let msg, let arg else { return Int32(NL_OK.rawValue) }
                let box = Unmanaged<ProxyDump>.fromOpaque(arg).takeUnretainedValue()
                let hdr = nlmsg_hdr(msg)!
                let total = Int(hdr.pointee.nlmsg_len)
                let base = UnsafeRawPointer(hdr)
                guard hdr.pointee.nlmsg_type == UInt16(RTM_NEWNEIGH), total >= 16 + 12 else { return Int32(NL_OK.rawValue) }
                let nd = base + 16
                let family = nd.load(as: UInt8.self)
                let ifi = nd.load(fromByteOffset: 4, as: Int32.self)
                let flags = nd.load(fromByteOffset: 10, as: UInt8.self)
                guard family == box.family, ifi == box.ifindex, Int32(flags) & Netlink.ntfProxy != 0 else { return Int32(NL_OK.rawValue) }
                for (type, payload) in RouteAttributes(base + 28, length: total - 28) where type == 1 /* NDA_DST */ && payload.count == box.length {
                    box.addresses.append(Array(payload))
                }
                return Int32(NL_OK.rawValue)
            }, unmanaged.toOpaque())
            try check(nl_recvmsgs(sock, cb), what)
            return box.addresses
        }
    }

    private final class ProxyDump {
        let ifindex: Int32
        let family: UInt8
        let length: Int
        var addresses: [[UInt8]] = []
        init(ifindex: Int32, family: UInt8, length: Int) {
            self.ifindex = ifindex
            self.family = family
            self.length = length
        }
    }

    private func proxyRequest(_ address: IPv4Address, _ name: String, _ what: String,
                              _ send: (OpaquePointer) -> Int32) throws {
        try proxyRequest(family: AF_INET, address.bytes, name, what, send)
    }

    func proxyRequest(family: Int32, _ bytes: [UInt8], _ name: String, _ what: String,
                      _ send: (OpaquePointer) -> Int32) throws {
        try locked {
            let index = try ifindex(name, what)
            guard let n = rtnl_neigh_alloc(), let dst = Netlink.buildAddress(family: family, bytes) else {
                throw HANetError(.kernel, "\(what): out of memory")
            }
            defer { rtnl_neigh_put(n); nl_addr_put(dst) }
            rtnl_neigh_set_ifindex(n, index)
            rtnl_neigh_set_family(n, family)
            try check(rtnl_neigh_set_dst(n, dst), what)
            rtnl_neigh_set_flags(n, UInt32(Netlink.ntfProxy))
            rtnl_neigh_set_state(n, Netlink.nudPermanent)
            try check(send(n), what)
        }
    }

    public func addProxyNeighbour(_ address: IPv4Address, on name: String) throws {
        try proxyRequest(address, name, "add proxy neighbour \(address) on \(name)") {
            rtnl_neigh_add(sock, $0, NLM_F_CREATE | NLM_F_REPLACE)
        }
    }

    public func deleteProxyNeighbour(_ address: IPv4Address, on name: String) throws {
        try proxyRequest(address, name, "delete proxy neighbour \(address) on \(name)") {
            rtnl_neigh_delete(sock, $0, 0)
        }
    }

    // MARK: routes

    private static let mainTable: UInt32 = 254

    public func routes() throws -> [KernelRoute] {
        try routes(family: AF_INET).map {
            KernelRoute(destination: IPv4Prefix(address: $0.destination.map(IPv4Address.init(bytes:)) ?? IPv4Address(0), length: $0.length),
                        device: $0.device, gateway: $0.gateway.map(IPv4Address.init(bytes:)))
        }
    }

    /// The main table's unicast routes of `family`: destination bytes (nil for
    /// the default route), prefix length, device and gateway bytes.
    func routes(family: Int32) throws -> [(destination: [UInt8]?, length: Int, device: String, gateway: [UInt8]?)] {
        let size = family == AF_INET ? 4 : 16
        return try locked {
            var names: [Int32: String] = [:]
            var linkCache: OpaquePointer?
            try check(rtnl_link_alloc_cache(sock, AF_UNSPEC, &linkCache), "list routes")
            defer { nl_cache_free(linkCache) }
            var lo = nl_cache_get_first(linkCache)
            while let o = lo {
                names[rtnl_link_get_ifindex(o)] = rtnl_link_get_name(o).map { String(cString: $0) }
                lo = nl_cache_get_next(o)
            }
            var cache: OpaquePointer?
            try check(rtnl_route_alloc_cache(sock, family, 0, &cache), "list routes")
            defer { nl_cache_free(cache) }
            var result: [(destination: [UInt8]?, length: Int, device: String, gateway: [UInt8]?)] = []
            var obj = nl_cache_get_first(cache)
            while let o = obj {
                defer { obj = nl_cache_get_next(o) }
                guard rtnl_route_get_table(o) == Netlink.mainTable, rtnl_route_get_type(o) == UInt8(RTN_UNICAST),
                      rtnl_route_get_nnexthops(o) >= 1, let nh = rtnl_route_nexthop_n(o, 0),
                      let device = names[Int32(rtnl_route_nh_get_ifindex(nh))] else { continue }
                let dstAddr = rtnl_route_get_dst(o)
                let len = dstAddr.map { Int(nl_addr_get_prefixlen($0)) } ?? 0
                result.append((Netlink.addressBytes(dstAddr, family: family, length: size), len, device,
                               Netlink.addressBytes(rtnl_route_nh_get_gateway(nh), family: family, length: size)))
            }
            return result
        }
    }

    private func routeRequest(_ route: KernelRoute, _ what: String, _ send: (OpaquePointer) -> Int32) throws {
        try routeRequest(family: AF_INET, route.destination.network.bytes, length: route.destination.length,
                         device: route.device, gateway: route.gateway?.bytes, what, send)
    }

    func routeRequest(family: Int32, _ destination: [UInt8], length: Int, device: String, gateway: [UInt8]?,
                      _ what: String, _ send: (OpaquePointer) -> Int32) throws {
        try locked {
            let index = try ifindex(device, what)
            guard let r = rtnl_route_alloc(), let nh = rtnl_route_nh_alloc(),
                  let dst = Netlink.buildAddress(family: family, destination, prefixLength: length) else {
                throw HANetError(.kernel, "\(what): out of memory")
            }
            defer { rtnl_route_put(r); nl_addr_put(dst) }
            rtnl_route_set_family(r, UInt8(family))
            rtnl_route_set_table(r, Netlink.mainTable)
            rtnl_route_set_type(r, UInt8(RTN_UNICAST))
            rtnl_route_set_protocol(r, 4)       // RTPROT_STATIC
            // IPv6 routes have no scope of their own; an IPv4 route without a gateway is on the link.
            let onLink = gateway == nil && family == AF_INET
            rtnl_route_set_scope(r, onLink ? UInt8(RT_SCOPE_LINK.rawValue) : UInt8(RT_SCOPE_UNIVERSE.rawValue))
            try check(rtnl_route_set_dst(r, dst), what)
            rtnl_route_nh_set_ifindex(nh, index)
            if let gw = gateway, let g = Netlink.buildAddress(family: family, gw) {
                rtnl_route_nh_set_gateway(nh, g)
                nl_addr_put(g)
            }
            rtnl_route_add_nexthop(r, nh)       // the route owns nh from here
            try check(send(r), what)
        }
    }

    public func addRoute(_ route: KernelRoute) throws {
        try routeRequest(route, "add route \(Netlink.describe(route))") { rtnl_route_add(sock, $0, NLM_F_EXCL) }
    }

    public func deleteRoute(_ route: KernelRoute) throws {
        try routeRequest(route, "delete route \(Netlink.describe(route))") { rtnl_route_delete(sock, $0, 0) }
    }

    static func describe(_ r: KernelRoute) -> String {
        "\(r.destination)" + (r.gateway.map { " via \($0)" } ?? "") + " dev \(r.device)"
    }
}
