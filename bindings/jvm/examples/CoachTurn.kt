// CoachTurn: one athlete turn through dev.josi.JosiCoach from Kotlin, as an
// Android app makes it (there the paths come from the app's files directory).
//   CoachTurn INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]
// Streams the reply text to stderr as it is generated and prints the turn's
// result JSON on stdout.
import dev.josi.JosiCoach
import dev.josi.JosiException
import java.io.File
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    if (args.size !in 3..4) {
        System.err.println("usage: CoachTurn INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]\n${JosiCoach.version()}")
        exitProcess(2)
    }
    val options = JosiCoach.Options(args[0]).apply {
        explainerModel = args[1]
        cacheDir = args.getOrNull(3)
    }
    try {
        JosiCoach.open(options).use { coach ->
            val result = coach.turn(File(args[2]).readText()) { piece -> System.err.print(piece) }
            System.err.println()
            println(result)
        }
    } catch (e: JosiException) {
        System.err.println("CoachTurn: ${e.status()}: ${e.message}")
        exitProcess(1)
    }
}
