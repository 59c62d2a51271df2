/// Something that knows its place in a `SlotList` (-1: in none).
protocol Slotted: AnyObject {
    var watchSlot: Int { get set }
}

/// A list whose members know their index, so that leaving it is a swap with the last member: a finished exchange or a
/// closed connection is let go at once, not kept until the next sweep. Confined to one event loop, like its members.
struct SlotList<Member: Slotted> {
    private(set) var members: [Member] = []

    var isEmpty: Bool { members.isEmpty }
    var count: Int { members.count }

    mutating func add(_ member: Member) {
        guard member.watchSlot < 0 else { return }
        member.watchSlot = members.count
        members.append(member)
    }

    mutating func remove(_ member: Member) {
        let slot = member.watchSlot
        guard slot >= 0, slot < members.count, members[slot] === member else { return }
        member.watchSlot = -1
        let last = members.removeLast()
        if slot < members.count {
            members[slot] = last
            last.watchSlot = slot
        }
    }
}
