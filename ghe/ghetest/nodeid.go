package ghetest

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// GitHub's node ids are a type prefix, an underscore and the URL-safe base64
// of a MessagePack array [0, database id, ...]: "R_kgDO..." for a repository.
// The fake encodes its ids the same way; clients must treat them as opaque.

// encodeNodeID encodes prefix and the parts (int64 or string) as a node id.
func encodeNodeID(prefix string, parts ...any) string {
	b := []byte{0x90 | byte(len(parts)+1), 0x00}
	for _, p := range parts {
		switch v := p.(type) {
		case int64:
			b = append(b, 0xce)
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case string:
			b = append(b, 0xd9, byte(len(v)))
			b = append(b, v...)
		}
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// decodedID is a decoded node id.
type decodedID struct {
	prefix string
	ints   []int64
	strs   []string
}

// decodeNodeID decodes a node id made by encodeNodeID.
func decodeNodeID(id string) (decodedID, bool) {
	prefix, rest, ok := strings.Cut(id, "_")
	if !ok || prefix == "" {
		return decodedID{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < 2 || b[0]&0xf0 != 0x90 || b[1] != 0 {
		return decodedID{}, false
	}
	n := int(b[0]&0x0f) - 1
	d := decodedID{prefix: prefix}
	b = b[2:]
	for range n {
		switch {
		case len(b) >= 5 && b[0] == 0xce:
			d.ints = append(d.ints, int64(binary.BigEndian.Uint32(b[1:5])))
			b = b[5:]
		case len(b) >= 2 && b[0] == 0xd9 && len(b) >= 2+int(b[1]):
			d.strs = append(d.strs, string(b[2:2+int(b[1])]))
			b = b[2+int(b[1]):]
		default:
			return decodedID{}, false
		}
	}
	if len(b) != 0 {
		return decodedID{}, false
	}
	return d, true
}
