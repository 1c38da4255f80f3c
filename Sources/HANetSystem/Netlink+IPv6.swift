import CLibNL
import Glibc
import HANetCore

/// `IPv6Kernel` over the same libnl socket and requests as IPv4.
extension Netlink: IPv6Kernel {
    public func ipv6Addresses(of name: String) throws -> [KernelIPv6Address] {
        try addresses(of: name, family: AF_INET6).map {
            KernelIPv6Address(prefix: IPv6Prefix(address: IPv6Address(bytes: $0.bytes), length: $0.length), flags: $0.flags)
        }
    }

    public func addIPv6Address(_ prefix: IPv6Prefix, to name: String) throws {
        try addressRequest(family: AF_INET6, prefix.address.bytes, prefixLength: prefix.length,
                           flags: KernelIPv6Address.flagNoDAD, name, "add address \(prefix) nodad to \(name)") {
            rtnl_addr_add(sock, $0, 0)
        }
    }

    public func deleteIPv6Address(_ prefix: IPv6Prefix, from name: String) throws {
        try addressRequest(family: AF_INET6, prefix.address.bytes, prefixLength: prefix.length, name,
                           "delete address \(prefix) from \(name)") { rtnl_addr_delete(sock, $0, 0) }
    }

    public func ipv6ProxyNeighbours(on name: String) throws -> [IPv6Address] {
        try proxyNeighbours(on: name, family: AF_INET6).map(IPv6Address.init(bytes:))
    }

    public func addIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws {
        try proxyRequest(family: AF_INET6, address.bytes, name, "add proxy neighbour \(address) on \(name)") {
            rtnl_neigh_add(sock, $0, NLM_F_CREATE | NLM_F_REPLACE)
        }
    }

    public func deleteIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws {
        try proxyRequest(family: AF_INET6, address.bytes, name, "delete proxy neighbour \(address) on \(name)") {
            rtnl_neigh_delete(sock, $0, 0)
        }
    }

    public func ipv6Routes() throws -> [KernelIPv6Route] {
        try routes(family: AF_INET6).map {
            KernelIPv6Route(destination: IPv6Prefix(address: $0.destination.map(IPv6Address.init(bytes:)) ?? .unspecified, length: $0.length),
                            device: $0.device, gateway: $0.gateway.map(IPv6Address.init(bytes:)))
        }
    }

    public func addIPv6Route(_ route: KernelIPv6Route) throws {
        try routeRequest(family: AF_INET6, route.destination.network.bytes, length: route.destination.length, device: route.device,
                         gateway: route.gateway?.bytes, "add route \(Netlink.describe(route))") { rtnl_route_add(sock, $0, NLM_F_EXCL) }
    }

    public func deleteIPv6Route(_ route: KernelIPv6Route) throws {
        try routeRequest(family: AF_INET6, route.destination.network.bytes, length: route.destination.length, device: route.device,
                         gateway: route.gateway?.bytes, "delete route \(Netlink.describe(route))") { rtnl_route_delete(sock, $0, 0) }
    }

    static func describe(_ r: KernelIPv6Route) -> String {
        "\(r.destination)" + (r.gateway.map { " via \($0)" } ?? "") + " dev \(r.device)"
    }
}
