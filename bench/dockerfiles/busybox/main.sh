#!/bin/sh
echo "hello from $APP"
ls /data/files | wc -l
