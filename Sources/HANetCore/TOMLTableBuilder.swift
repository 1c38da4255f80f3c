/// A table while the file is being read: later headers may still add to it.
final class TOMLTableBuilder {
    /// How the table came to exist, which decides whether a later header or
    /// dotted key may define it again (TOML forbids redefinition).
    enum Origin { case implicit, header, dottedKey }

    enum Slot {
        case value(TOMLValue, Int)
        case table(TOMLTableBuilder, Int)
        case tableArray([TOMLTableBuilder], Int)

        var line: Int {
            switch self {
            case .value(_, let l), .table(_, let l), .tableArray(_, let l): return l
            }
        }
    }

    var line: Int
    var origin: Origin
    var isInline = false
    var order: [String] = []
    var slots: [String: Slot] = [:]

    init(line: Int, origin: Origin) {
        self.line = line
        self.origin = origin
    }

    func add(_ key: String, _ slot: Slot) {
        order.append(key)
        slots[key] = slot
    }

    func freeze() -> TOMLTable {
        var entries: [TOMLEntry] = []
        for key in order {
            guard let slot = slots[key] else { continue }
            switch slot {
            case .value(let v, let l):
                entries.append(TOMLEntry(key: key, keyLine: l, value: v))
            case .table(let t, let l):
                let frozen = t.freeze()
                entries.append(TOMLEntry(key: key, keyLine: l, value: TOMLValue(.table(frozen), line: frozen.line)))
            case .tableArray(let list, let l):
                entries.append(TOMLEntry(key: key, keyLine: l, value: TOMLValue(.tableArray(list.map { $0.freeze() }), line: l)))
            }
        }
        return TOMLTable(line: line, entries: entries)
    }
}
