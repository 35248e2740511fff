package sts

import (
	"encoding/xml"
	"reflect"
	"strconv"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// Each result STS writes by hand must write what encoding/xml writes for it: with every field
// set (to text that needs escaping) and with every field empty. Fields are set by reflection,
// so a field added to a result and not to its AppendXML fails here.
func TestResultsAppendWhatEncodingXMLWrites(t *testing.T) {
	for _, zero := range []query.XMLAppender{callerIdentityResult{}, AssumeRoleResult{}} {
		typ := reflect.TypeOf(zero)
		for _, filled := range []bool{false, true} {
			v := reflect.New(typ).Elem()
			if filled {
				fill(t, v, typ.Name())
			}
			res := v.Interface()
			want, err := xml.Marshal(struct {
				XMLName xml.Name `xml:"R"`
				Inner   any
			}{Inner: res})
			if err != nil {
				t.Fatal(err)
			}
			// xml.Marshal wraps the value in <Inner>; AppendXML writes what goes inside it.
			got := "<R><Inner>" + string(res.(query.XMLAppender).AppendXML(nil)) + "</Inner></R>"
			if got != string(want) {
				t.Errorf("%s (filled %v):\ngot  %s\nwant %s", typ.Name(), filled, got, want)
			}
		}
	}
}

// fill sets every field of v to a value of its kind that names it.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(path + ` <&>'"` + "\t\n\u2028\xff")
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(path)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
	default:
		t.Fatalf("%s: a %s field: teach AppendXML and this test its encoding", path, v.Kind())
	}
}
