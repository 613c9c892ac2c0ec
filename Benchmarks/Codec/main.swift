// Codec: the client's per-message costs alone, with no socket: decoding a tokenize answer the way
// the connection does (traceId matched as bytes, names from the per-connection cache) and encoding
// a tokenize request of three values. Prints nanoseconds of CPU per message for each.
//
//   swift build -c release --product Codec
//   $(swift build -c release --show-bin-path)/Codec [messages]
import Foundation
import NIOCore
import ShieldConex

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 1_000_000

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func measure(_ name: String, _ body: () throws -> Int) rethrows {
    let start = cpuSeconds()
    let checksum = try body()
    let elapsed = cpuSeconds() - start
    print(String(format: "%-32@ %8.1f ns CPU/message  (%d messages, checksum %d)", name as NSString, elapsed / Double(count) * 1e9, count, checksum))
}

var traceIds = TraceIDGenerator()
let values = [
    FieldValue(name: "card_number", value: "4111111111111111"), FieldValue(name: "card_exp", value: "1229"),
    FieldValue(name: "card_cvv", value: "123"),
]
// The shape of the simulator's answers: a 25-digit messageId, an 88-character bfid, three tokens.
let answers: [ByteBuffer] = (0..<64).map { _ in
    let id = traceIds.nextCounter()
    var writer = JSONWriter()
    Request.heartbeat().encode(traceId: id, of: traceIds, into: &writer)
    let traceId = String(decoding: writer.bytes.dropFirst(12).prefix(36), as: UTF8.self)
    let response = Response(
        traceId: traceId, action: "tokenization-tokenize", messageId: "1202611300102566850000003", success: true,
        bfid: "djE6MTIwMjYxMTMwMDEwMjU2Njg1MDAwMDAwM3wwNzFlZDg0MGM3OGVhYzdhNDBiZGExM2E1ZDJmZjNmYnx8",
        values: [
            FieldValue(name: "card_number", value: "5191415065687061"), FieldValue(name: "card_exp", value: "7724"),
            FieldValue(name: "card_cvv", value: "210"),
        ]
    )
    var out = JSONWriter()
    response.encode(into: &out)
    return ByteBuffer(bytes: out.bytes)
}

var recurring = RecurringStrings()
var spare = ResponseTexts()
try measure("decode tokenize answer") {
    var sum = 0
    for index in 0..<count {
        var counter: UInt64?
        // As the client handler does: the texts' buffer taken back after each answer.
        var response = try Response.decode(answers[index & 63], recurring: &recurring, traceIds: traceIds, counter: &counter, reusing: &spare)
        sum &+= Int(counter ?? 0) &+ response.texts.withParts { $0.valueCount ?? 0 }
        spare = response.takeTexts()
    }
    return sum
}

// What reading the bytes alone costs (every value skipped): the floor of any decoder here.
try measure("scan tokenize answer (skip)") {
    var sum = 0
    for index in 0..<count {
        try answers[index & 63].withUnsafeReadableBytes { bytes in
            var scanner = JSONScanner(bytes)
            try scanner.skipValue()
            sum &+= scanner.index
        }
    }
    return sum
}

let request = Request.tokenize(
    templateRef: "438ac8afecdd8035a21c126ee1fe6c19", values: values, reference: "job-1234:1000000"
)
var writer = JSONWriter(capacity: 1024)
measure("encode tokenize request") {
    var sum = 0
    for _ in 0..<count {
        writer.bytes.removeAll(keepingCapacity: true)
        request.encode(traceId: traceIds.nextCounter(), of: traceIds, into: &writer)
        sum &+= writer.bytes.count
    }
    return sum
}
