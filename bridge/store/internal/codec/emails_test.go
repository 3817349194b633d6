package codec

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// sameEmailsAsUnmarshal checks DecodeEmails against unmarshalEmails, the
// json.Unmarshal decoding it stands for.
func sameEmailsAsUnmarshal(t *testing.T, s string) {
	t.Helper()
	want, wantErr := unmarshalEmails(s)
	got, err := DecodeEmails(s)
	if wantErr != nil {
		require.Error(t, err, "input %q", s)
		require.Contains(t, err.Error(), wantErr.Error(), "input %q", s)
		return
	}
	require.NoError(t, err, "input %q", s)
	require.Equal(t, want, got, "input %q", s)
}

// What the store writes is decoded on the fast path, to what json.Unmarshal
// gives.
func TestDecodeEmailsIsUnmarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var es []store.Email
		for range rng.IntN(4) {
			es = append(es, store.Email{Value: randomString(rng), Type: randomString(rng), Primary: rng.IntN(2) == 0})
		}
		s, err := EncodeEmails(es)
		require.NoError(t, err)
		fast, ok := decodeEmails(s)
		if s != "[]" {
			require.True(t, ok, "the fast path refused what the store wrote: %q", s)
		}
		want, err := unmarshalEmails(s)
		require.NoError(t, err)
		if len(want) > 0 {
			require.Equal(t, want, fast, "input %q", s)
		}
		sameEmailsAsUnmarshal(t, s)
	}
}

// Anything the store does not write gets json.Unmarshal's answer.
func TestDecodeEmailsOddInput(t *testing.T) {
	for _, s := range []string{
		``, ` `, `[`, `]`, `[]`, ` [ ] `, `null`, `{}`, `[{}]`, `[{},]`, `[,]`, `[{"v":"a"}]x`, `[{"v":"a"} ]  `,
		`[{"V":"a"}]`, `[{"value":"a"}]`, `[{"v":null}]`, `[{"v":1}]`, `[{"p":"true"}]`, `[{"p":null}]`, `[{"p":1}]`,
		`[{"v":"a","v":"b"}]`, `[{"v":"a\u00e9\n"}]`, `[{"v":"\ud83d\ude00"}]`, `[{"v":"\ud83d"}]`, "[{\"v\":\"\xff\"}]",
		`[{"v":"a" "t":"b"}]`, `[{"v":"a",}]`, `[{"v" "a"}]`, `[{"t":"work","p":true,"v":"a@example.com"}]`, `[1]`,
		`[null]`, `[{"v":"a"},{"p":false}]`, `[{"p":truex}]`, `[{"p":tru}]`, "[{\"v\":\"a\x01\"}]",
	} {
		sameEmailsAsUnmarshal(t, s)
	}
}

func FuzzDecodeEmails(f *testing.F) {
	for _, s := range []string{`[]`, `[{"v":"a","t":"work","p":true}]`, `[{"V":"a"}]`, "[{\"v\":\"\xff\"}]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameEmailsAsUnmarshal(t, s) })
}

func BenchmarkDecodeEmails(b *testing.B) {
	raw := `[{"v":"someone@example.com","t":"work","p":true}]`
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			if _, err := unmarshalEmails(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeEmails", func(b *testing.B) {
		for range b.N {
			if _, err := DecodeEmails(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
