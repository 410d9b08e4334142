module github.com/faultline-dev/faultline

go 1.26.8

require (
	github.com/alecthomas/kong v1.17.0
	github.com/stretchr/testify v1.12.1
	github.com/valyala/fastjson v1.6.10
	go.yaml.in/yaml/v3 v3.0.6
)
