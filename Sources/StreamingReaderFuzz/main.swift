@_spi(Fuzzing) import Envelope
@_spi(Fuzzing) import Packaging
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer target for the streaming opener's readers: the two CMS parsers and the tar archive
/// reader on every input, with a read size taken from the first byte so buffer boundaries fall
/// everywhere.
///
/// Build: swift build -c release --product StreamingReaderFuzz -Xswiftc -sanitize=fuzzer,address
/// Run:   .build/release/StreamingReaderFuzz CORPUS_DIR -max_total_time=60
///
/// SwiftPM gives executables their own `main`, so this one hands control to libFuzzer's driver.
typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

let testOneInput: TestOneInput = { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let chunk = bytes.first.map { Int($0 % 64) + 1 } ?? 7
    _ = StreamingFuzzing.parseBundle(bytes, readChunkSize: chunk)
    _ = StreamingFuzzing.parseSignedContent(bytes, readChunkSize: chunk)
    // The archive reader: what it accepts is consistent (a manifest, sizes within the input).
    let scan = ArchiveFuzzing.scan(bytes, chunkSize: chunk)
    if scan.error == nil {
        precondition(scan.manifest != nil, "an archive without a manifest was accepted")
        precondition(scan.documents.reduce(Int64(0)) { $0 + $1.size } <= Int64(bytes.count), "documents larger than the input")
    }
    return 0
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`),
/// linked in by -sanitize=fuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: TestOneInput) -> CInt

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
