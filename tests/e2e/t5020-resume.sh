#!/bin/bash
# shellcheck disable=SC2016,SC2317 # single-quoted bodies call the helpers
test_description='resumable receive: receive -s keeps what arrived,
receive_resume_token, send -t continues, receive -A aborts'

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

srv() {
	SNAPSEAL_HOME=$TRASH_DIRECTORY/server "$SNAPSEAL" "$@"
}

# token DS: the receive_resume_token of DS on the server.
token() {
	srv get -H -o value receive_resume_token "$1"
}

test_expect_success KEYRING 'setup: an encrypted source with two snapshots' '
	sstool randfile key 32 t5020-key random &&
	snapseal pool create -m "$PWD/prod" zdata &&
	snapseal create -o encryption=on -o keyformat=raw \
		-o keylocation="file://$PWD/key" zdata/enc &&
	snapseal create zdata/enc/docs &&
	sstool gen prod/enc/docs 5020 200 &&
	echo MARKER-resume-5020 >prod/enc/docs/secret &&
	sstool randfile prod/enc/docs/big 6000000 5020 random &&
	snapseal snapshot zdata/enc/docs@a &&
	sstool digest prod/enc/docs >a.digest &&
	sstool randfile prod/enc/docs/big2 4000000 5021 random &&
	echo more >>prod/enc/docs/secret &&
	snapseal snapshot zdata/enc/docs@b &&
	sstool digest prod/enc/docs >b.digest &&
	snapseal send -w zdata/enc/docs@a >full.stream &&
	snapseal send -w -i @a zdata/enc/docs@b >inc.stream &&
	mkdir server &&
	srv pool create -m "$PWD/backup" zb
'

test_expect_success KEYRING 'without -s a cut stream leaves nothing' '
	head -c 3000000 full.stream >cut.stream &&
	test_must_fail srv receive zb/docs <cut.stream 2>err &&
	test_grep "incomplete stream" err &&
	test_must_fail srv list zb/docs 2>/dev/null
'

test_expect_success KEYRING 'with -s a cut stream leaves a token and no snapshot' '
	test_must_fail srv receive -s zb/docs <cut.stream 2>err &&
	test_grep "partially received state was saved" err &&
	srv list -H -o name -t snapshot -r zb >actual &&
	test_line_count = 0 actual &&
	token zb/docs >tok &&
	test_grep "^1-[0-9a-f]*-[0-9a-f]*$" tok
'

test_expect_success KEYRING 'another stream into the partial dataset is refused' '
	test_must_fail srv receive zb/docs <full.stream 2>err &&
	test_grep "partially-complete state" err
'

test_expect_success KEYRING 'a damaged token is refused' '
	t=$(cat tok) &&
	bad=$(printf "%s" "$t" | sed "s/^1-\(.\)/1-f/;s/^1-ff/1-0f/") &&
	test_must_fail snapseal send -t "$bad" >x.stream 2>err &&
	test_grep "resume token" err &&
	test_must_fail snapseal send -t "$t" -w zdata/enc/docs@a >x.stream 2>err
'

test_expect_success KEYRING 'send -t sends only what is missing, raw as before, and completes' '
	snapseal send -t "$(cat tok)" >rest.stream &&
	test $(wc -c <rest.stream) -lt $(wc -c <full.stream) &&
	! grep -q -a MARKER-resume-5020 rest.stream &&
	test_must_fail sstool grepall server MARKER-resume-5020 &&
	srv receive -s zb/docs <rest.stream &&
	srv list -H -o name -t snapshot zb/docs >actual &&
	echo zb/docs@a >expect &&
	test_cmp expect actual &&
	token zb/docs >actual &&
	echo - >expect &&
	test_cmp expect actual &&
	srv load-key -L "file://$PWD/key" zb/docs &&
	srv restore zb/docs@a r1 &&
	sstool digest r1 >actual &&
	test_cmp a.digest actual &&
	srv unload-key zb/docs
'

test_expect_success KEYRING 'an incremental cut twice resumes twice' '
	size=$(wc -c <inc.stream) &&
	head -c $((size / 3)) inc.stream | test_must_fail srv receive -s zb/docs &&
	snapseal send -t "$(token zb/docs)" >rest1.stream &&
	head -c $(($(wc -c <rest1.stream) / 2)) rest1.stream |
		test_must_fail srv receive -s zb/docs &&
	snapseal send -t "$(token zb/docs)" | srv receive -s zb/docs &&
	srv list -H -o name -t snapshot zb/docs >actual &&
	printf "zb/docs@a\nzb/docs@b\n" >expect &&
	test_cmp expect actual &&
	srv load-key -L "file://$PWD/key" zb/docs &&
	srv restore zb/docs@b r2 &&
	sstool digest r2 >actual &&
	test_cmp b.digest actual &&
	srv unload-key zb/docs &&
	srv pool scrub zb >out &&
	test_grep "with 0 errors" out
'

test_expect_success KEYRING 'a token whose snapshot was replaced is refused' '
	head -c 2000000 full.stream | test_must_fail srv receive -s zb/other &&
	snapseal destroy zdata/enc/docs@a &&
	snapseal snapshot zdata/enc/docs@a &&
	test_must_fail snapseal send -t "$(token zb/other)" >x.stream 2>err &&
	test_grep "destroyed or replaced" err
'

test_expect_success KEYRING 'receive -A drops the partial state, its dataset and its space' '
	snapseal create zdata/enc/fresh &&
	sstool randfile prod/enc/fresh/big 5000000 5023 random &&
	snapseal snapshot zdata/enc/fresh@f &&
	srv get -Hp -o value used zb >before &&
	snapseal send -w zdata/enc/fresh@f | head -c 3000000 |
		test_must_fail srv receive -s zb/fresh &&
	srv get -Hp -o value used zb >held &&
	test "$(cat held)" -gt "$(($(cat before) + 1000000))" &&
	srv receive -A zb/fresh &&
	test_must_fail srv list zb/fresh 2>/dev/null &&
	srv receive -A zb/other &&
	test_must_fail srv list zb/other 2>/dev/null &&
	srv get -Hp -o value used zb >after &&
	test "$(cat after)" -le "$(cat before)" &&
	test_must_fail srv receive -A zb/docs 2>err &&
	test_grep "does not have any resumable receive state" err
'

test_expect_success KEYRING 'destroying a dataset with a partial receive frees what it held' '
	head -c 2500000 full.stream | test_must_fail srv receive -s zb/third &&
	srv destroy zb/third &&
	srv pool scrub zb >out &&
	test_grep "with 0 errors" out
'

test_expect_success 'plain streams resume too' '
	snapseal create -o encryption=off zdata/plain &&
	sstool gen prod/plain 5022 100 &&
	sstool randfile prod/plain/big 3000000 5022 random &&
	snapseal snapshot zdata/plain@p &&
	sstool digest prod/plain >p.digest &&
	snapseal send zdata/plain@p >p.stream &&
	head -c 1500000 p.stream | test_must_fail srv receive -s zb/plain &&
	snapseal send -t "$(token zb/plain)" | srv receive -s zb/plain &&
	srv restore zb/plain@p r3 &&
	sstool digest r3 >actual &&
	test_cmp p.digest actual
'

test_expect_success KEYRING,XXHASH 'a token a server edited (RAW dropped, PROPERTIES added) is refused' '
	st="$SNAPSEAL_SRCDIR/tests/tool/streamtool.py" &&
	snapseal send -w zdata/enc/fresh@f | head -c 2000000 |
		test_must_fail srv receive -s zb/forged &&
	t=$(token zb/forged) &&
	forged=$(python3 "$st" token-flags "$t" 0xfffffffe) &&
	test_must_fail snapseal send -t "$forged" >x.stream 2>err &&
	test_grep "was not made from a stream of this pool, or it was modified" err &&
	test_line_count = 0 x.stream &&
	withprops=$(python3 "$st" token-flags "$t" 0xffffffff 0x8) &&
	test_must_fail snapseal send -t "$withprops" >x.stream 2>err &&
	test_grep "or it was modified" err &&
	test_must_fail snapseal send -w -t "$forged" >x.stream 2>err &&
	test_grep "not of a raw stream" err &&
	snapseal send -w -t "$t" | srv receive -s zb/forged &&
	srv list -H -o name -t snapshot zb/forged >actual &&
	echo zb/forged@f >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING,XXHASH 'a token renamed to a decrypted copy with the same guids is refused' '
	st="$SNAPSEAL_SRCDIR/tests/tool/streamtool.py" &&
	snapseal create -o encryption=off zdata/copies &&
	snapseal send zdata/enc/fresh@f | snapseal receive zdata/copies/fresh &&
	snapseal send -w zdata/enc/fresh@f | head -c 1000000 |
		test_must_fail srv receive -s zb/renamed &&
	t=$(token zb/renamed) &&
	renamed=$(python3 "$st" token-name "$t" zdata/copies/fresh) &&
	test_must_fail snapseal send -t "$renamed" >x.stream 2>err &&
	test_grep "or it was modified" err &&
	test_line_count = 0 x.stream &&
	snapseal send -t "$t" | srv receive -s zb/renamed
'

test_expect_success KEYRING 'a decrypted send resumes with its own token' '
	snapseal send zdata/enc/docs@b >dec.stream &&
	head -c $(($(wc -c <dec.stream) / 2)) dec.stream |
		test_must_fail srv receive -s zb/dec &&
	snapseal send -t "$(token zb/dec)" | srv receive -s zb/dec &&
	srv restore zb/dec@b r5 &&
	sstool digest r5 >actual &&
	test_cmp b.digest actual
'

test_expect_success KEYRING 'a stream cut before its first object resumes' '
	st="$SNAPSEAL_SRCDIR/tests/tool/streamtool.py" &&
	snapseal send -w zdata/enc/fresh@f >fresh.stream &&
	cut=$(python3 "$st" end-of fresh.stream 1) &&
	head -c $((cut + 5)) fresh.stream | test_must_fail srv receive -s zb/early &&
	snapseal send -t "$(token zb/early)" >early.stream &&
	srv receive -s zb/early <early.stream &&
	srv list -H -o name -t snapshot zb/early >actual &&
	echo zb/early@f >expect &&
	test_cmp expect actual
'

test_expect_success KEYRING 'a resumed stream needs the saved state it continues' '
	head -c 2000000 fresh.stream | test_must_fail srv receive -s zb/cont &&
	snapseal send -t "$(token zb/cont)" >cont.stream &&
	test_must_fail srv receive zb/elsewhere <cont.stream 2>err &&
	test_grep "has no resumable receive state" err &&
	test_must_fail srv list zb/elsewhere 2>/dev/null &&
	srv receive zb/cont <cont.stream
'

test_done
