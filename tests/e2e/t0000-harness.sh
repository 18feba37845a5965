#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='the test harness itself (lib.sh)

Runs small test scripts inside this one and checks their TAP output, exit
code and trash directory: a harness that passes a crashed command or loses a
failure would make every other test worthless.'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# Sub-scripts are written here, outside the tests, so that their own test
# bodies can use single quotes.  write_sub NAME <<EOF ... EOF
write_sub() {
	mkdir -p "$TRASH_DIRECTORY/subs" &&
	{
		printf '%s\n' '#!/bin/bash' "test_description='sub-test $1'" \
			". '$TEST_DIRECTORY/lib.sh'"
		cat
	} >"$TRASH_DIRECTORY/subs/$1.sh"
}

# run_sub NAME [OPTIONS]: run it with its trash under NAME.tmp; stdout in
# NAME.out, stderr in NAME.err, exit code in NAME.code.
run_sub() {
	local name=$1
	shift
	rm -rf "$name.tmp" && mkdir "$name.tmp" &&
	{
		TMPDIR=$PWD/$name.tmp bash "$TRASH_DIRECTORY/subs/$name.sh" "$@" \
			>"$name.out" 2>"$name.err"
		echo $? >"$name.code"
	}
}

# trash_count NAME: how many trash directories NAME left behind.
trash_count() {
	find "$1.tmp" -mindepth 1 -maxdepth 1 -name "snapseal-$1.*" | wc -l
}

write_sub pass <<\EOF
test_expect_success 'first' 'echo hidden-marker'
test_expect_success 'second' 'true'
test_done
EOF

write_sub fail <<\EOF
test_expect_success 'passes' 'true'
test_expect_success 'fails' 'echo failure-marker && false'
test_expect_failure 'known breakage' 'false'
test_expect_failure 'fixed breakage' 'true'
test_expect_success 'still runs' 'true'
test_done
EOF

write_sub mustfail <<\EOF
test_expect_success 'exit 1' 'test_must_fail sh -c "exit 1"'
test_expect_success 'SEGV' 'test_must_fail sh -c "kill -SEGV \$\$"'
test_expect_success 'abort' 'test_must_fail sh -c "kill -ABRT \$\$"'
test_expect_success 'success' 'test_must_fail true'
test_expect_success 'not found' 'test_must_fail no-such-command-t0000'
test_expect_success 'code match' 'test_expect_code 3 sh -c "exit 3"'
test_expect_success 'code mismatch' 'test_expect_code 3 sh -c "exit 4"'
test_expect_success 'code signal' 'test_expect_code 1 sh -c "kill -SEGV \$\$"'
test_done
EOF

write_sub cleanup <<\EOF
test_expect_success 'registers two cleanups, fails' '
	test_when_finished "echo first >>order" &&
	test_when_finished "echo second >>order" &&
	false
'
test_expect_success 'cleanups ran last-first' '
	printf "second\nfirst\n" >expect &&
	test_cmp expect order
'
test_expect_success 'a failing cleanup fails the test' '
	test_when_finished "false" &&
	true
'
test_expect_success 'test_when_finished refuses a subshell' '
	(test_when_finished "true")
'
test_done
EOF

write_sub prereq <<\EOF
test_set_prereq HAVE
test_lazy_prereq LAZY 'echo run >>"$TRASH_DIRECTORY/lazy-count"'
test_lazy_prereq LAZYNO 'false'
test_expect_success HAVE 'have' 'true'
test_expect_success MISSING 'missing' 'false'
test_expect_success '!HAVE' 'negated have' 'false'
test_expect_success 'HAVE,!MISSING' 'both' 'true'
test_expect_success LAZY 'lazy' 'true'
test_expect_success LAZY,LAZYNO 'lazy no' 'false'
test_expect_success 'lazy evaluated once' '
	test_have_prereq LAZY &&
	test_line_count = 1 lazy-count
'
test_done
EOF

write_sub noplan <<\EOF
test_expect_success 'passes' 'true'
exit 0
EOF

write_sub keys <<\EOF
test_expect_success 'load two keys' '
	keyctl add user "${TEST_KEY_PREFIX}new" secret @u &&
	keyctl add user "${TEST_KEY_PREFIX%-}+other" secret @u
'
test_done
EOF

test_expect_success 'passing tests: TAP, exit 0, output hidden, trash removed' '
	run_sub pass &&
	cat >expect <<-\EOF &&
	ok 1 - first
	ok 2 - second
	1..2
	EOF
	test_cmp expect pass.out &&
	echo 0 >expect &&
	test_cmp expect pass.code &&
	test_line_count = 0 pass.err &&
	test "$(trash_count pass)" = 0
'

test_expect_success '-v shows the output as TAP comments' '
	run_sub pass -v &&
	test_grep "^# hidden-marker$" pass.out &&
	test_grep "^ok 2 - second$" pass.out
'

test_expect_success '-d keeps the trash directory' '
	run_sub pass -d &&
	test "$(trash_count pass)" = 1 &&
	test_grep "trash directory kept" pass.err
'

test_expect_success '-x traces the bodies' '
	run_sub pass -v -x &&
	test_grep "^# +* *echo hidden-marker$" pass.out
'

test_expect_success 'a failure: not ok, exit 1, output shown, trash kept' '
	run_sub fail &&
	cat >expect <<-\EOF &&
	ok 1 - passes
	not ok 2 - fails
	not ok 3 - known breakage # TODO known breakage
	ok 4 - fixed breakage # TODO known breakage vanished
	ok 5 - still runs
	# 1 known breakage(s) vanished
	# still have 1 known breakage(s)
	1..5
	# failed 1 among 5 test(s)
	EOF
	test_cmp expect fail.out &&
	echo 1 >expect &&
	test_cmp expect fail.code &&
	test_grep "^# failure-marker$" fail.err &&
	test_grep "^# echo failure-marker && false$" fail.err &&
	test "$(trash_count fail)" = 1
'

test_expect_success 'test_must_fail rejects success, signals and not found' '
	run_sub mustfail &&
	cat >expect <<-\EOF &&
	ok 1 - exit 1
	not ok 2 - SEGV
	not ok 3 - abort
	not ok 4 - success
	not ok 5 - not found
	ok 6 - code match
	not ok 7 - code mismatch
	not ok 8 - code signal
	1..8
	# failed 6 among 8 test(s)
	EOF
	test_cmp expect mustfail.out &&
	test_grep "died of signal 11" mustfail.err &&
	test_grep "died of signal 6" mustfail.err
'

test_expect_success 'test_when_finished' '
	run_sub cleanup &&
	cat >expect <<-\EOF &&
	not ok 1 - registers two cleanups, fails
	ok 2 - cleanups ran last-first
	not ok 3 - a failing cleanup fails the test
	not ok 4 - test_when_finished refuses a subshell
	1..4
	# failed 3 among 4 test(s)
	EOF
	test_cmp expect cleanup.out
'

test_expect_success 'prerequisites: set, missing, negated, lazy' '
	run_sub prereq &&
	cat >expect <<-\EOF &&
	ok 1 - have
	ok 2 # skip missing (missing MISSING)
	ok 3 # skip negated have (missing !HAVE)
	ok 4 - both
	ok 5 - lazy
	ok 6 # skip lazy no (missing LAZYNO)
	ok 7 - lazy evaluated once
	# skipped 3 test(s)
	1..7
	EOF
	test_cmp expect prereq.out &&
	echo 0 >expect &&
	test_cmp expect prereq.code
'

test_expect_success 'an exit without test_done is a failure' '
	run_sub noplan &&
	echo 1 >expect &&
	test_cmp expect noplan.code &&
	test_grep ! "^1\.\." noplan.out &&
	test_grep "without test_done" noplan.err
'

test_expect_success 'each script starts in its trash with an empty home' '
	test "$PWD" = "$TRASH_DIRECTORY" &&
	test "$SNAPSEAL_HOME" = "$TRASH_DIRECTORY/home" &&
	test "$HOME" = "$TRASH_DIRECTORY" &&
	test -d "$SNAPSEAL_HOME" &&
	test -z "$(ls -A "$SNAPSEAL_HOME")" &&
	case $SNAPSEAL:$SSTOOL in /*:/*) ;; *) false ;; esac &&
	test "$(type -t snapseal)" = function &&
	test "$(type -t sstool)" = function
'

test_expect_success 'a test that cd-s does not move the next one' '
	mkdir -p sub && cd sub && test "$PWD" = "$TRASH_DIRECTORY/sub"
'

test_expect_success 'the next test is back in the trash directory' '
	test "$PWD" = "$TRASH_DIRECTORY"
'

test_expect_success 'SNAPSEAL_* variables of the caller do not leak in' '
	write_sub env <<-\EOF &&
	test_expect_success "clean" "test -z \"\$SNAPSEAL_LEAK\""
	test_done
	EOF
	SNAPSEAL_LEAK=1 run_sub env &&
	echo 0 >expect &&
	test_cmp expect env.code
'

test_expect_success 'test_cmp and test_grep' '
	printf "a\nb\n" >one &&
	printf "a\nb\n" >two &&
	printf "a\nc\n" >three &&
	test_cmp one two &&
	! test_cmp one three >diff 2>&1 &&
	test_grep "^-b$" diff &&
	test_grep "^b$" one &&
	test_grep ! "^c$" one &&
	! test_grep "^c$" one 2>err &&
	test_grep "didn.t find\|failed" err &&
	! test_grep "^b$" missing-file 2>/dev/null &&
	! test_grep ! "^b$" missing-file 2>/dev/null
'

test_expect_success KEYRING 'keys a script adds are unloaded at its end' '
	prefix=snapseal:t0000-$$- &&
	old=$(keyctl add user "${prefix}old" secret @u) &&
	test_when_finished "keyctl invalidate $old" &&
	TEST_KEYRING_LOCK=$PWD/keys.lock TEST_KEY_PREFIX=$prefix run_sub keys &&
	echo 0 >expect &&
	test_cmp expect keys.code &&
	other=$(keyctl search @u user "${prefix%-}+other") &&
	test_when_finished "keyctl invalidate $other" &&
	keyctl describe "$old" &&
	! keyctl search @u user "${prefix}new"
'

test_done
