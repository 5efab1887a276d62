/// A write made under a lease this node no longer holds (another node took the job over).
public struct LeaseLost: Error, CustomStringConvertible {
    public let job: String
    public let fence: Int64
    public var description: String { "the lease of job \(job) (fence \(fence)) is held by another node now" }
}
