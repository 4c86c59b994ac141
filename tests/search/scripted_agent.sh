#!/bin/sh
# A scripted "agent" for the search tests: one fixed edit per step ($KFORGE_STEP), played on the
# parent's copy of tests/search/seed_solution in $KFORGE_SOLUTION, with a PLAN.md as a real agent
# would write. Steps: 1 a compile error, 2 a wrong result (one state element off by one), 3 a
# slower kernel (four times the seed's eight repetitions), 4 a faster one (one repetition instead of
# eight); later steps change nothing.
set -eu
[ -f "$KFORGE_TASK" ] || { echo "no TASK.md" >&2; exit 2; }
src="$KFORGE_SOLUTION/gdn_decode.cpp"
case "$KFORGE_STEP" in
  1) echo 'this line is not C++' >> "$src"
     echo "Unroll the repetition loop (breaks the build)" > PLAN.md ;;
  2) sed -i 's|^  return 0;$|  static_cast<float*>(out[1].data)[0] += 1.0f;\n  return 0;|' "$src"
     echo "Nudge the first state element (a wrong result)" > PLAN.md ;;
  3) sed -i 's|^#define KF_REPEAT .*|#define KF_REPEAT 32|' "$src"
     echo "Repeat the step 32 times (slower)" > PLAN.md ;;
  4) sed -i 's|^#define KF_REPEAT .*|#define KF_REPEAT 1|' "$src"
     echo "Compute the step once instead of eight times (faster)" > PLAN.md ;;
  *) echo "Nothing left to try" > PLAN.md ;;
esac
echo "step $KFORGE_STEP done"
