module github.com/gpudesk/runtime

go 1.26
