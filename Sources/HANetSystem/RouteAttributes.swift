/// Iterates the rtattr TLVs of a netlink message body (4-byte aligned
/// {len: u16, type: u16} headers), yielding each attribute's type (without the
/// NLA_F_NESTED/NET_BYTEORDER bits) and payload. Parsing by hand keeps the
/// link-event path free of libnl object allocation.
struct RouteAttributes: Sequence, IteratorProtocol {
    private var cursor: UnsafeRawPointer
    private var remaining: Int

    init(_ start: UnsafeRawPointer, length: Int) {
        cursor = start
        remaining = Swift.max(0, length)
    }

    mutating func next() -> (UInt16, UnsafeRawBufferPointer)? {
        guard remaining >= 4 else { return nil }
        let len = Int(cursor.loadUnaligned(as: UInt16.self))
        let type = cursor.loadUnaligned(fromByteOffset: 2, as: UInt16.self) & 0x3fff
        guard len >= 4, len <= remaining else { return nil }
        let payload = UnsafeRawBufferPointer(start: cursor + 4, count: len - 4)
        let step = Swift.min(remaining, (len + 3) & ~3)
        cursor += step
        remaining -= step
        return (type, payload)
    }
}
