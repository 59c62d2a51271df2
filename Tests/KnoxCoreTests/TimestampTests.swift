import Testing

@testable import KnoxCore

@Suite struct TimestampTests {
    @Test func formatsMillisecondsUTC() {
        #expect(Timestamp.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millis: 1_768_469_400_123) == "2026-01-15T09:30:00.123Z")
        #expect(Timestamp.format(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesWhatItFormats() {
        for millis: Int64 in [0, 1_768_469_400_123, 951_782_400_000, 4_102_444_799_999] {
            #expect(Timestamp.parse(Timestamp.format(millis: millis)) == millis)
        }
    }

    @Test func parsesOffsetsFractionsAndDates() {
        #expect(Timestamp.parse("2026-01-15T09:30:00Z") == 1_768_469_400_000)
        #expect(Timestamp.parse("2026-01-15T10:30:00+01:00") == 1_768_469_400_000)
        #expect(Timestamp.parse("2026-01-15T09:30:00.5Z") == 1_768_469_400_500)
        #expect(Timestamp.parse("2026-01-15T09:30:00.123456Z") == 1_768_469_400_123)
        #expect(Timestamp.parse("2026-01-15") == 1_768_435_200_000)
    }

    @Test(arguments: [
        "", "2026-13-01", "2026-02-30", "2026-01-15T25:00:00Z", "2026-01-15T09:30:00", "yesterday",
        "2026-01-15T09:30:00.Z", "2026-01-15T09:30:00Zjunk",
    ])
    func refusesMalformed(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
