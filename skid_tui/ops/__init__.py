"""What skid does, written once for both front ends: compose calls, operations and their queue, builds,
test runs, samples. Plain Python returning result dataclasses: no Textual, no Rich."""
