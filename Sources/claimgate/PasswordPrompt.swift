import ClaimGateCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a password: at a terminal, twice without echo (the two must match); otherwise one line
/// from standard input (scripts: `printf '%s\n' "$PW" | claimgate operator password NAME`).
enum PasswordPrompt {
    static func read(for name: String) throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ClaimGateError(.invalidArgument, "No password on standard input: give it as one line (`printf '%s\\n' \"$PASSWORD\" | claimgate operator password \(name)`), or run the command at a terminal.")
            }
            return line
        }
        let first = try silently("Console password for \(name) (at least 12 characters): ")
        let second = try silently("Again: ")
        guard first == second else {
            throw ClaimGateError(.invalidArgument, "The two passwords differ: run the command again.")
        }
        return first
    }

    /// One line from the terminal with echo off, restored whatever happens.
    private static func silently(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else {
            throw ClaimGateError(.io, "Cannot read the terminal's settings: give the password on standard input instead.")
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
