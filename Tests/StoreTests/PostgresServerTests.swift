import ClaimGateTesting
import Foundation
import Testing

/// The PostgreSQL the store's tests run against (Debian's, started by the test on 127.0.0.1):
/// made, reached with stock `psql`, crashed with `pg_ctl -m immediate` and recovered with what
/// it had committed.
@Suite struct PostgresServerTests {
    @Test(.timeLimit(.minutes(3)))
    func startsOnLoopbackSurvivesACrashAndStops() throws {
        let pg = try PostgresServer()
        #expect(try pg.psql("SHOW listen_addresses") == "127.0.0.1")
        #expect(try pg.psql("SHOW fsync") == "on")
        try pg.psql("CREATE TABLE t(id integer PRIMARY KEY, note text NOT NULL)")
        try pg.psql("INSERT INTO t VALUES (1, '理赔')")
        let pid = try #require(pg.pid)
        #expect(kill(pid, 0) == 0)
        // A crash: no checkpoint, no clean shutdown; what was committed is there after recovery.
        try pg.stop(mode: .immediate)
        #expect(kill(pid, 0) != 0)
        try pg.start()
        #expect(try pg.psql("SELECT note FROM t WHERE id = 1") == "理赔")
        try pg.stop()
        #expect(pg.pid == nil)
    }
}
