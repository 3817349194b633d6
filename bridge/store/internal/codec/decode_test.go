package codec

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "日本", "😀", "\u2028", "\u2029", "\xff", "\xc3", "@", "\ufffd"}
	s := ""
	for range rng.IntN(10) {
		s += pieces[rng.IntN(len(pieces))]
	}
	return s
}

func randomValue(rng *rand.Rand, depth int) any {
	k := rng.IntN(9)
	if depth > 3 {
		k = rng.IntN(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return randomString(rng)
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return []float64{0, -1, 3.25, 1e21, 1e-7, -2.5e-300, 123456789012, rng.NormFloat64() * 1e9}[rng.IntN(8)]
	case 4:
		return int64(rng.IntN(1 << 40))
	case 5, 6:
		m := map[string]any{}
		for range rng.IntN(6) {
			m[randomString(rng)] = randomValue(rng, depth+1)
		}
		return m
	default:
		xs := []any{}
		for range rng.IntN(5) {
			xs = append(xs, randomValue(rng, depth+1))
		}
		return xs
	}
}

// decodeObject gives json.Unmarshal's result on what the store writes.
func TestDecodeObjectIsUnmarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		m := map[string]any{}
		for range rng.IntN(8) {
			m[randomString(rng)] = randomValue(rng, 0)
		}
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		sameAsUnmarshal(t, string(raw), i)
	}
}

// Hand-written JSON the store never writes takes the same way out.
func TestDecodeObjectOddInput(t *testing.T) {
	for i, s := range []string{
		``, ` `, `{}`, ` { } `, `{"a":1}`, `{"a":1,}`, `{"a" : [ 1 , 2 ] , "b" : { } }`, `{"a":01}`, `{"a":1.}`, `{"a":-}`,
		`{"a":1e}`, `{"a":1e+5}`, `{"a":-0}`, `{"a":1e400}`, `{"a":+1}`, `{"a":0x10}`, `{"a":Infinity}`, `{"a":tru}`,
		`{"a":true}x`, `{"a":"\u00e9\u2028\n\/"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\u12"}`, `{"a":"\x"}`,
		"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":1,"a":2}`, `[1]`, `null`, `"s"`, `{"a":[}`, `{"a":{"b":[[[[]]]]}}`,
		`{"a":"unterminated`, `{"a"`, `{"a":`, `{1:2}`, "{\"\\u0000\":null}", `{"a":"\"\\"}`,
	} {
		sameAsUnmarshal(t, s, i)
	}
}

func sameAsUnmarshal(t *testing.T, s string, i int) {
	t.Helper()
	var want map[string]any
	wantErr := json.Unmarshal([]byte(s), &want)
	got, err := decodeObject(s)
	if wantErr != nil {
		require.Error(t, err, "%d: %q", i, s)
		require.Equal(t, wantErr.Error(), err.Error(), "%d: %q", i, s)
		return
	}
	require.NoError(t, err, "%d: %q", i, s)
	require.True(t, reflect.DeepEqual(want, got), "%d: %q\nwant %#v\ngot  %#v", i, s, want, got)
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"x",null,true,{"b":-2.5e3}]}`, `{"\u00e9":"\ud83d\ude00"}`, "{\"a\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsUnmarshal(t, s, 0) })
}

func BenchmarkDecodeAttributes(b *testing.B) {
	raw := `{"active":true,"displayName":"Some One","emails":[{"primary":true,"type":"work","value":"someone@example.com"}],` +
		`"externalId":"00u1abcd","name":{"familyName":"One","formatted":"Some One","givenName":"Some"},` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","employeeNumber":"1234"},"userName":"someone@example.com"}`
	b.Run("encoding/json", func(b *testing.B) {
		for range b.N {
			var m map[string]any
			if err := json.Unmarshal([]byte(raw), &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeObject", func(b *testing.B) {
		for range b.N {
			if _, err := decodeObject(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
